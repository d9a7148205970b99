package lvs

// The tests in package lvs_test need the fixtures of lvs/lvstest, which
// imports lvs, so they cannot be in package lvs; these are the helpers
// they share with the tests that are.
var (
	AP              = ap
	Down            = down
	OpStrings       = opStrings
	TestConfig      = testConfig
	Weights         = weights
	UpVerdict       = upVerdict
	ApplyError      = applyError
	AppendOpMessage = appendOpMessage
)

const (
	Web         = web
	NlmFRequest = nlmFRequest
)

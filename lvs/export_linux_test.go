package lvs

// See export_test.go.
var FakeModprobe = fakeModprobe

const ProcIPVS = procIPVS

package hcl

import (
	"encoding/json"
	"net/netip"
	"time"
)

// checkerJSON is a Checker as `lvsd check --json` prints it: the flat
// shape the model had before a kind's settings moved behind KindSettings
// (every kind's fields, in this order, under these names), which
// pipelines read (README: "the resolved model for pipelines"). A field
// of another kind than the checker's holds that kind's default, as the
// old model did; Virtualhost and FastRecovery are the HTTP_GET/SSL_GET
// checker's only (docs/lvsd.md).
type checkerJSON struct {
	Kind           string
	Connect        netip.AddrPort
	BindTo         netip.Addr
	BindPort       uint16
	FWMark         uint32
	DelayLoop      time.Duration
	Warmup         time.Duration
	Timeout        time.Duration
	Retry          int32
	RetryDelay     time.Duration
	Rise           int32
	Alpha          bool
	URLs           []URL
	Virtualhost    string
	HTTPVersion    string
	FastRecovery   bool
	BindIf         string
	EnableSNI      bool
	VerifyTLS      bool
	CAFile         string
	CertFile       string
	KeyFile        string
	KeyPassword    string
	MiscPath       string
	MiscTimeout    time.Duration
	MiscDynamic    bool
	User           string
	Group          string
	Payload        []byte
	RequireReply   bool
	Reply          []byte
	ReplyMask      []byte
	MinReplyLength int
	MaxReplyLength int
	DNSType        string
	DNSName        string
	HeloName       string
	TrackFile      string
	File           string
	FileWeight     int
	FileReverse    bool
	Pos            Pos
	Positions      Positions
}

// MarshalJSON writes the checker in the flat shape of checkerJSON.
func (c Checker) MarshalJSON() ([]byte, error) {
	j := checkerJSON{
		Kind: c.Kind, Connect: c.Connect, BindTo: c.BindTo, BindPort: c.BindPort, FWMark: c.FWMark,
		DelayLoop: c.DelayLoop, Warmup: c.Warmup, Timeout: c.Timeout, Retry: c.Retry, RetryDelay: c.RetryDelay,
		Rise: c.Rise, Alpha: c.Alpha, BindIf: c.BindIf, Pos: c.Pos, Positions: c.Positions,
		// The defaults every reader gave every checker before: a MISC
		// timeout of the checker's delay_loop, and defaultKindSettings'.
		HTTPVersion: defaultHTTPVersion, MiscTimeout: c.DelayLoop, MaxReplyLength: defaultMaxReplyLength,
		DNSType: defaultDNSType, DNSName: defaultDNSName, HeloName: defaultHeloName,
	}
	switch s := c.KindSettings.(type) {
	case *HTTPCheck:
		j.URLs, j.Virtualhost, j.HTTPVersion, j.FastRecovery = s.URLs, s.Virtualhost, s.HTTPVersion, s.FastRecovery
		j.EnableSNI, j.VerifyTLS, j.CAFile = s.EnableSNI, s.VerifyTLS, s.CAFile
		j.CertFile, j.KeyFile, j.KeyPassword = s.CertFile, s.KeyFile, s.KeyPassword
	case *MiscCheck:
		j.MiscPath, j.MiscTimeout, j.MiscDynamic, j.User, j.Group = s.Path, s.Timeout, s.Dynamic, s.User, s.Group
	case *UDPCheck:
		j.Payload, j.RequireReply, j.Reply, j.ReplyMask = s.Payload, s.RequireReply, s.Reply, s.ReplyMask
		j.MinReplyLength, j.MaxReplyLength = s.MinReplyLength, s.MaxReplyLength
	case *DNSCheck:
		j.DNSType, j.DNSName = s.Type, s.Name
	case *SMTPCheck:
		j.HeloName = s.HeloName
	case *FileCheck:
		j.TrackFile, j.File, j.FileWeight, j.FileReverse = s.TrackFile, s.Path, s.Weight, s.Reverse
	}
	return json.Marshal(j)
}

package lvs

import (
	"errors"
	"fmt"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// Timeouts are the kernel's IPVS connection timeouts (ipvsadm --set tcp
// tcpfin udp, IPVS_CMD_SET_CONFIG); zero leaves one as it is.
type Timeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// TimeoutKernel is the Kernel side that sets the connection timeouts.
// The Linux kernel implements it; a Kernel that does not cannot honour
// lvs_timeouts (SetTimeouts says so).
type TimeoutKernel interface {
	SetTimeouts(Timeouts) error
}

// IPVS_CMD_SET_CONFIG and its top-level attributes (linux/ip_vs.h).
const (
	ipvsCmdSetConfig        = 12
	ipvsCmdAttrTimeoutTCP   = 4 // u32 seconds
	ipvsCmdAttrTimeoutTCPFn = 5
	ipvsCmdAttrTimeoutUDP   = 6
)

// timeoutsMessage builds IPVS_CMD_SET_CONFIG with the timeouts that are
// set: ip_vs_genl_set_config() starts from the current values, so an
// absent attribute changes nothing (keepalived's lvs_timeouts does the
// same through libipvs).
func timeoutsMessage(family uint16, seq uint32, t Timeouts) []byte {
	b := appendGenlHeader(nil, family, seq, nlmFRequest|nlmFAck, ipvsCmdSetConfig)
	for _, v := range []struct {
		typ uint16
		d   time.Duration
	}{{ipvsCmdAttrTimeoutTCP, t.TCP}, {ipvsCmdAttrTimeoutTCPFn, t.TCPFin}, {ipvsCmdAttrTimeoutUDP, t.UDP}} {
		if v.d > 0 {
			b = appendU32(b, v.typ, uint32(v.d/time.Second))
		}
	}
	native.PutUint32(b, uint32(len(b)))
	return b
}

// SetTimeouts sets the configuration's lvs_timeouts in the kernel, when
// it has any (Director calls it at start and on every reload, like
// keepalived). The timeouts are the whole network namespace's, not
// lvsd's services' alone, as they are for ipvsadm --set.
func (m *Manager) SetTimeouts(t hcl.LVSTimeouts) error {
	if t.IsZero() {
		return nil
	}
	tk, ok := m.kernel.(TimeoutKernel)
	if !ok {
		return errors.New("lvs_timeouts: this IPVS kernel cannot set timeouts")
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if err := tk.SetTimeouts(Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}); err != nil {
		return fmt.Errorf("lvs_timeouts (IPVS_CMD_SET_CONFIG): %w", err)
	}
	m.log.Info("IPVS connection timeouts set", "tcp", t.TCP, "tcpfin", t.TCPFin, "udp", t.UDP)
	return nil
}

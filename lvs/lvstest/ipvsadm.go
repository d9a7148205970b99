package lvstest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// WriteIPVSADMRules writes t in the rules format of `ipvsadm -S -n`, which
// `ipvsadm -R` reads: the reference lvsd's load time is measured against,
// and a way to hand a table to ipvsadm.
func WriteIPVSADMRules(w io.Writer, t lvs.Table) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i := range t {
		s := &t[i]
		spec := ipvsadmServiceSpec(s)
		line := "-A " + spec + " -s " + s.Scheduler
		if s.Flags&lvs.FlagPersistent != 0 {
			line += fmt.Sprintf(" -p %d", s.Timeout)
			if isIPv6(s) && s.Netmask != 128 {
				line += fmt.Sprintf(" -M %d", s.Netmask)
			} else if !isIPv6(s) && s.Netmask != 32 {
				line += " -M " + ipv4Netmask(s.Netmask)
			}
		}
		if s.Flags&lvs.FlagOnePacket != 0 {
			line += " -o"
		}
		if f := s.Flags & (lvs.FlagSched1 | lvs.FlagSched2 | lvs.FlagSched3); f != 0 {
			line += " -b " + f.String()
		}
		if _, err := bw.WriteString(line + "\n"); err != nil {
			return err
		}
		for j := range s.Destinations {
			d := &s.Destinations[j]
			line := fmt.Sprintf("-a %s -r %s %s -w %d", spec, ipvsadmAddr(d.Addr), ipvsadmForward(d.Forward), d.Weight)
			if d.UpperThreshold != 0 {
				line += fmt.Sprintf(" -x %d", d.UpperThreshold)
			}
			if d.LowerThreshold != 0 {
				line += fmt.Sprintf(" -y %d", d.LowerThreshold)
			}
			if _, err := bw.WriteString(line + "\n"); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func ipvsadmServiceSpec(s *lvs.Service) string {
	if s.FWMark != 0 {
		if s.IPv6 {
			return fmt.Sprintf("-f %d -6", s.FWMark)
		}
		return fmt.Sprintf("-f %d", s.FWMark)
	}
	switch s.Protocol {
	case "UDP":
		return "-u " + s.Addr.String()
	case "SCTP":
		return "--sctp-service " + s.Addr.String()
	}
	return "-t " + s.Addr.String()
}

func ipvsadmAddr(a netip.AddrPort) string {
	if a.Port() == 0 {
		return a.Addr().String()
	}
	return a.String()
}

func ipvsadmForward(f lvs.Forward) string {
	switch f {
	case lvs.ForwardMasq:
		return "-m"
	case lvs.ForwardTunnel:
		return "-i"
	}
	return "-g"
}

func ipv4Netmask(prefix int) string {
	var b [4]byte
	if prefix > 0 {
		binary.BigEndian.PutUint32(b[:], ^uint32(0)<<(32-min(prefix, 32)))
	}
	return netip.AddrFrom4(b).String()
}

// ParseIPVSADMRules reads the -A and -a lines of `ipvsadm -S -n` output
// (or an `ipvsadm -R` file) into a Table, with hcl's reader of the format
// (hcl.ReadIPVSADMRules, the one parser of it in lvsd). A real server
// keeps the forwarding method and port written, as the kernel holds them;
// an -a line for a service not yet defined is an error.
func ParseIPVSADMRules(r io.Reader) (lvs.Table, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	svcs, diags := hcl.ReadIPVSADMRules("ipvsadm-rules", src)
	if diags.HasErrors() {
		return nil, diags.Errors()
	}
	t := make(lvs.Table, 0, len(svcs))
	for i := range svcs {
		t = append(t, serviceOfRule(&svcs[i]))
	}
	t.Sort()
	return t, nil
}

// serviceOfRule is the kernel's view of one service of a rules file.
func serviceOfRule(s *hcl.IPVSADMService) lvs.Service {
	svc := lvs.Service{Protocol: s.Protocol, Addr: s.Addr, FWMark: s.FWMark, IPv6: s.IPv6, Scheduler: s.Scheduler, Netmask: s.Netmask}
	if s.Persistent {
		svc.Flags |= lvs.FlagPersistent
		svc.Timeout = s.Timeout
	}
	if s.OnePacket {
		svc.Flags |= lvs.FlagOnePacket
	}
	for _, n := range s.SchedFlags {
		svc.Flags |= map[int]lvs.ServiceFlags{1: lvs.FlagSched1, 2: lvs.FlagSched2, 3: lvs.FlagSched3}[n]
	}
	for _, d := range s.Dests {
		fwd := map[string]lvs.Forward{hcl.KindDR: lvs.ForwardRoute, hcl.KindNAT: lvs.ForwardMasq, hcl.KindTUN: lvs.ForwardTunnel}[d.Kind]
		svc.Destinations = append(svc.Destinations, lvs.Destination{
			Addr: d.Addr, Forward: fwd, Weight: d.Weight, UpperThreshold: d.UThreshold, LowerThreshold: d.LThreshold,
		})
	}
	return svc
}

// isIPv6 reports a service's address family.
func isIPv6(s *lvs.Service) bool {
	if s.FWMark != 0 {
		return s.IPv6
	}
	return s.Addr.Addr().Is6() && !s.Addr.Addr().Is4In6()
}

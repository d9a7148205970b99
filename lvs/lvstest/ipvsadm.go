package lvstest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

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
// (or an `ipvsadm -R` file) into a Table. Options it does not know are
// skipped; an -a line for a service not yet defined is an error.
func ParseIPVSADMRules(r io.Reader) (lvs.Table, error) {
	var t lvs.Table
	index := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		svc, dst, isDest, err := parseIPVSADMLine(fields)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if svc == nil {
			continue
		}
		key := svc.Key()
		if !isDest {
			if _, dup := index[key]; dup {
				return nil, fmt.Errorf("line %d: service %s defined twice", lineNo, key)
			}
			index[key] = len(t)
			t = append(t, *svc)
			continue
		}
		i, ok := index[key]
		if !ok {
			return nil, fmt.Errorf("line %d: real server %s of undefined service %s", lineNo, dst.Addr, key)
		}
		t[i].Destinations = append(t[i].Destinations, dst)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	t.Sort()
	return t, nil
}

func parseIPVSADMLine(f []string) (*lvs.Service, lvs.Destination, bool, error) {
	var dst lvs.Destination
	var isDest bool
	switch f[0] {
	case "-A", "--add-service":
	case "-a", "--add-server":
		isDest = true
	default:
		return nil, dst, false, nil // other commands are not table content
	}
	svc := &lvs.Service{}
	var addr string
	var netmask string
	haveProto := false
	dst.Forward, dst.Weight = lvs.ForwardRoute, 1
	next := func(i *int) (string, error) {
		if *i+1 >= len(f) {
			return "", fmt.Errorf("option %s needs a value", f[*i])
		}
		*i++
		return f[*i], nil
	}
	for i := 1; i < len(f); i++ {
		var v string
		var err error
		switch f[i] {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service":
			if v, err = next(&i); err != nil {
				return nil, dst, false, err
			}
			svc.Protocol = map[string]string{"-t": "TCP", "--tcp-service": "TCP", "-u": "UDP", "--udp-service": "UDP", "--sctp-service": "SCTP"}[f[i-1]]
			addr, haveProto = v, true
		case "-f", "--fwmark-service":
			if v, err = next(&i); err != nil {
				return nil, dst, false, err
			}
			m, err := strconv.ParseUint(v, 10, 32)
			if err != nil || m == 0 {
				return nil, dst, false, fmt.Errorf("bad fwmark %q", v)
			}
			svc.FWMark, haveProto = uint32(m), true
		case "-6", "--ipv6":
			svc.IPv6 = true
		case "-s", "--scheduler":
			if svc.Scheduler, err = next(&i); err != nil {
				return nil, dst, false, err
			}
		case "-p", "--persistent":
			svc.Flags |= lvs.FlagPersistent
			svc.Timeout = 300 // ipvsadm's default
			if i+1 < len(f) && !strings.HasPrefix(f[i+1], "-") {
				i++
				n, err := strconv.ParseUint(f[i], 10, 32)
				if err != nil {
					return nil, dst, false, fmt.Errorf("bad persistence timeout %q", f[i])
				}
				svc.Timeout = uint32(n)
			}
		case "-M", "--netmask":
			if netmask, err = next(&i); err != nil {
				return nil, dst, false, err
			}
		case "-o", "--ops":
			svc.Flags |= lvs.FlagOnePacket
		case "-b", "--sched-flags":
			if v, err = next(&i); err != nil {
				return nil, dst, false, err
			}
			for _, fl := range strings.Split(v, ",") {
				switch fl {
				case "flag-1", "sh-fallback", "mh-fallback":
					svc.Flags |= lvs.FlagSched1
				case "flag-2", "sh-port", "mh-port":
					svc.Flags |= lvs.FlagSched2
				case "flag-3":
					svc.Flags |= lvs.FlagSched3
				}
			}
		case "-r", "--real-server":
			if v, err = next(&i); err != nil {
				return nil, dst, false, err
			}
			if dst.Addr, err = parseIPVSADMAddr(v); err != nil {
				return nil, dst, false, fmt.Errorf("bad real server %q", v)
			}
		case "-g", "--gatewaying":
			dst.Forward = lvs.ForwardRoute
		case "-m", "--masquerading":
			dst.Forward = lvs.ForwardMasq
		case "-i", "--ipip":
			dst.Forward = lvs.ForwardTunnel
		case "-w", "--weight", "-x", "--u-threshold", "-y", "--l-threshold":
			if v, err = next(&i); err != nil {
				return nil, dst, false, err
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, dst, false, fmt.Errorf("bad number %q for %s", v, f[i-1])
			}
			switch f[i-1] {
			case "-w", "--weight":
				dst.Weight = int(n)
			case "-x", "--u-threshold":
				dst.UpperThreshold = uint32(n)
			default:
				dst.LowerThreshold = uint32(n)
			}
		}
	}
	if !haveProto {
		return nil, dst, false, fmt.Errorf("%s without a service", f[0])
	}
	if svc.FWMark == 0 {
		a, err := parseIPVSADMAddr(addr)
		if err != nil {
			return nil, dst, false, fmt.Errorf("bad service address %q", addr)
		}
		svc.Addr = a
		svc.IPv6 = a.Addr().Is6()
	}
	if isDest && !dst.Addr.IsValid() {
		return nil, dst, false, fmt.Errorf("-a without -r")
	}
	svc.Netmask = 32
	if isIPv6(svc) {
		svc.Netmask = 128
	}
	if netmask != "" && svc.Flags&lvs.FlagPersistent != 0 { // ipvsadm prints -M only with -p
		if n, err := strconv.Atoi(netmask); err == nil && n >= 0 && n <= svc.Netmask {
			svc.Netmask = n
		} else if m, err := netip.ParseAddr(netmask); err == nil && m.Is4() {
			b := m.As4()
			svc.Netmask = bits.OnesCount32(binary.BigEndian.Uint32(b[:]))
		} else {
			return nil, dst, false, fmt.Errorf("bad netmask %q", netmask)
		}
	}
	if svc.Scheduler == "" {
		svc.Scheduler = "wlc" // ipvsadm's default
	}
	return svc, dst, isDest, nil
}

func parseIPVSADMAddr(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a.Unmap(), 0), nil
}

// isIPv6 reports a service's address family.
func isIPv6(s *lvs.Service) bool {
	if s.FWMark != 0 {
		return s.IPv6
	}
	return s.Addr.Addr().Is6() && !s.Addr.Addr().Is4In6()
}

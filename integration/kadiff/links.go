package kadiff

import (
	"fmt"
	"os/exec"
	"strings"
)

// Links are the links every namespace of the differential holds: the
// interfaces the corpus names. Each is one end of a veth pair whose far
// end, "pN" for Links[N], is where adverts are read.
var Links = []string{"eth0", "eth1", "eth2", "eth3"}

// Peer is the far end of Links[i].
func Peer(i int) string { return fmt.Sprintf("p%d", i) }

// Namespace makes namespace name with Links (eth0 10.99.0.1/24, eth1
// 10.99.1.1/24, ...) and, where the kernel has VLANs, eth0.1. A namespace
// of that name left by an earlier run is replaced. The caller deletes it
// (DeleteNamespace).
func Namespace(name string) error {
	DeleteNamespace(name)
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	steps := [][]string{{"-n", name, "link", "set", "lo", "up"}}
	for i, l := range Links {
		steps = append(steps,
			[]string{"-n", name, "link", "add", l, "type", "veth", "peer", "name", Peer(i)},
			[]string{"-n", name, "addr", "add", fmt.Sprintf("10.99.%d.1/24", i), "dev", l},
			[]string{"-n", name, "link", "set", l, "up"},
			[]string{"-n", name, "link", "set", Peer(i), "up"},
			// 10.99.N.2 answers no ARP but resolves: unicast adverts to it
			// reach the wire, where they are read.
			[]string{"-n", name, "neigh", "add", fmt.Sprintf("10.99.%d.2", i), "lladdr", "02:00:00:00:00:02", "dev", l, "nud", "permanent"})
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			DeleteNamespace(name)
			return err
		}
	}
	// Best effort: a kernel without 8021q leaves eth0.1 missing, for both
	// daemons alike.
	if ip("-n", name, "link", "add", "link", "eth0", "name", "eth0.1", "type", "vlan", "id", "1") == nil {
		ip("-n", name, "link", "set", "eth0.1", "up")
	}
	return nil
}

// DeleteNamespace removes namespace name and the links in it.
func DeleteNamespace(name string) { exec.Command("ip", "netns", "del", name).Run() }

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

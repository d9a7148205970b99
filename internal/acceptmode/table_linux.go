package acceptmode

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

const (
	set4Name = "vips4"
	set6Name = "vips6"
	// rulesPerChain is what open expects to find in each chain of a
	// table an earlier lvsd left: the two neighbour-discovery accepts
	// and the two drops.
	rulesPerChain = 4
)

// ICMPv6 types that pass whatever their address (RFC 4861 §4.3, §4.4):
// the VIPs are still resolved while their traffic is dropped.
const (
	ndNeighborSolicit = 135
	ndNeighborAdvert  = 136
)

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

func sets(t *nftables.Table) (v4, v6 *nftables.Set) {
	return &nftables.Set{Table: t, Name: set4Name, KeyType: nftables.TypeIPAddr},
		&nftables.Set{Table: t, Name: set6Name, KeyType: nftables.TypeIP6Addr}
}

// chainSpec is one of the two chains: where it hooks and which address
// of the packet it looks up (the destination on input, the source on
// output).
type chainSpec struct {
	name       string
	hook       *nftables.ChainHook
	off4, off6 uint32 // offsets of the address in the IPv4 and IPv6 headers
}

var chainSpecs = []chainSpec{
	{name: "in", hook: nftables.ChainHookInput, off4: 16, off6: 24},  // daddr
	{name: "out", hook: nftables.ChainHookOutput, off4: 12, off6: 8}, // saddr
}

func (s chainSpec) chain(t *nftables.Table) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	// Priority filter - 1, keepalived's nftables_priority default: before
	// the filter chains an administrator writes.
	return &nftables.Chain{Name: s.name, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: s.hook, Priority: nftables.ChainPriorityRef(-1), Policy: &accept}
}

// rules are `icmpv6 type nd-neighbor-solicit accept`, `icmpv6 type
// nd-neighbor-advert accept`, `ip daddr @vips4 counter drop`, `ip6 daddr
// @vips6 counter drop` (saddr on output).
func (s chainSpec) rules(t *nftables.Table, c *nftables.Chain, v4, v6 *nftables.Set) []*nftables.Rule {
	nfproto := func(p byte) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p}},
		}
	}
	nd := func(typ byte) *nftables.Rule {
		e := append(nfproto(unix.NFPROTO_IPV6),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{typ}},
			&expr.Verdict{Kind: expr.VerdictAccept})
		return &nftables.Rule{Table: t, Chain: c, Exprs: e}
	}
	drop := func(p byte, off, n uint32, set *nftables.Set) *nftables.Rule {
		e := append(nfproto(p),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop})
		return &nftables.Rule{Table: t, Chain: c, Exprs: e}
	}
	return []*nftables.Rule{
		nd(ndNeighborSolicit), nd(ndNeighborAdvert),
		drop(unix.NFPROTO_IPV4, s.off4, 4, v4), drop(unix.NFPROTO_IPV6, s.off6, 16, v6),
	}
}

type linuxTable struct {
	conn *nftables.Conn
}

func refusal(err error) error {
	return fmt.Errorf("no_accept needs nf_tables in the kernel (module nf_tables): %w", err)
}

// open adopts a table of the right shape, else replaces it in one batch.
func open() (tableImpl, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, refusal(err)
	}
	if shaped(c) {
		return &linuxTable{conn: c}, nil
	}
	t := table()
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	v4, v6 := sets(t)
	for _, s := range []*nftables.Set{v4, v6} {
		if err := c.AddSet(s, nil); err != nil {
			return nil, err
		}
	}
	for _, spec := range chainSpecs {
		ch := c.AddChain(spec.chain(t))
		for _, r := range spec.rules(t, ch, v4, v6) {
			c.AddRule(r)
		}
	}
	if err := c.Flush(); err != nil {
		return nil, refusal(fmt.Errorf("creating table inet %s: %w", TableName, err))
	}
	return &linuxTable{conn: c}, nil
}

// shaped tells whether the table exists with both sets and both chains
// holding their rules.
func shaped(c *nftables.Conn) bool {
	t := table()
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet); err != nil {
		return false
	}
	for _, name := range []string{set4Name, set6Name} {
		if _, err := c.GetSetByName(t, name); err != nil {
			return false
		}
	}
	for _, spec := range chainSpecs {
		rules, err := c.GetRules(t, spec.chain(t))
		if err != nil || len(rules) != rulesPerChain {
			return false
		}
	}
	return true
}

func key(a netip.Addr) string { return string(a.AsSlice()) }

func (l *linuxTable) reconcile(want []netip.Addr) error {
	v4, v6 := sets(table())
	wanted := map[string]bool{}
	var add4, add6 []nftables.SetElement
	for _, a := range want {
		wanted[key(a)] = true
	}
	have := map[string]bool{}
	for _, s := range []*nftables.Set{v4, v6} {
		elems, err := l.conn.GetSetElements(s)
		if err != nil {
			return fmt.Errorf("reading set %s of table inet %s: %w", s.Name, TableName, err)
		}
		var del []nftables.SetElement
		for _, e := range elems {
			have[string(e.Key)] = true
			if !wanted[string(e.Key)] {
				del = append(del, nftables.SetElement{Key: e.Key})
			}
		}
		if len(del) > 0 {
			if err := l.conn.SetDeleteElements(s, del); err != nil {
				return err
			}
		}
	}
	for _, a := range want {
		if have[key(a)] {
			continue
		}
		if a.Is4() {
			add4 = append(add4, nftables.SetElement{Key: a.AsSlice()})
		} else {
			add6 = append(add6, nftables.SetElement{Key: a.AsSlice()})
		}
	}
	if len(add4) > 0 {
		if err := l.conn.SetAddElements(v4, add4); err != nil {
			return err
		}
	}
	if len(add6) > 0 {
		if err := l.conn.SetAddElements(v6, add6); err != nil {
			return err
		}
	}
	if err := l.conn.Flush(); err != nil {
		return fmt.Errorf("table inet %s: %w", TableName, err)
	}
	return nil
}

func (l *linuxTable) addrs() ([]netip.Addr, error) {
	v4, v6 := sets(table())
	var out []netip.Addr
	for _, s := range []*nftables.Set{v4, v6} {
		elems, err := l.conn.GetSetElements(s)
		if err != nil {
			return nil, err
		}
		for _, e := range elems {
			if a, ok := netip.AddrFromSlice(e.Key); ok {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (l *linuxTable) remove() error { return deleteTable(l.conn) }

func (l *linuxTable) close() {}

// Clear deletes a table an earlier lvsd left (one killed while an
// instance with no_accept was MASTER); a missing table is no error.
func Clear() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	return deleteTable(c)
}

func deleteTable(c *nftables.Conn) error {
	c.DelTable(table())
	if err := c.Flush(); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("removing table inet %s: %w", TableName, err)
	}
	return nil
}

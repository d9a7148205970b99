package resetguard

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

func chain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{
		Name: "output", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter,
	}
}

// rule is `meta nfproto ipv4|ipv6 meta l4proto tcp ip[6] saddr ADDR
// tcp flags & rst != 0 counter drop`.
func rule(t *nftables.Table, c *nftables.Chain, a netip.Addr) *nftables.Rule {
	proto, offset := byte(unix.NFPROTO_IPV4), uint32(12) // iphdr saddr
	if a.Is6() {
		proto, offset = unix.NFPROTO_IPV6, 8 // ipv6hdr saddr
	}
	return &nftables.Rule{Table: t, Chain: c, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(a.BitLen() / 8)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},     // TCP flags
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x04}, Xor: []byte{0}}, // RST
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}}
}

type linuxGuard struct{}

// hold replaces the table in one batch: add (so the delete finds it),
// delete, add with the chain and rules.
func hold(addrs []netip.Addr) (guardImpl, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	t := table()
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	ch := c.AddChain(chain(t))
	for _, a := range addrs {
		c.AddRule(rule(t, ch, a))
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return linuxGuard{}, nil
}

func (linuxGuard) release() (uint64, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("nftables: %w", err)
	}
	t := table()
	var dropped uint64
	if rules, err := c.GetRules(t, chain(t)); err == nil {
		for _, r := range rules {
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					dropped += ctr.Packets
				}
			}
		}
	}
	c.DelTable(t)
	if err := c.Flush(); err != nil {
		return dropped, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return dropped, nil
}

func clear() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	c.DelTable(table())
	if err := c.Flush(); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return nil
}

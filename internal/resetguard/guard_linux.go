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

// linuxGuard keeps one lasting nftables netlink socket. Closing a
// NETLINK_NETFILTER socket is not free: the kernel's nft_rcv_nl_event
// (net/netfilter/nf_tables_api.c) waits, on every such close, for the
// destruction of the transactions committed before it
// (nf_tables_trans_destroy_flush_work, after an RCU grace period), which
// is what a Hold on a socket of its own waited for on the test VM. The
// socket is opened at Open and closed at Close only; after a failed batch
// or dump (its acknowledgements may still be queued) it is replaced.
type linuxGuard struct {
	conn *nftables.Conn
}

func lasting() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// open replaces the table in one batch: add (so the delete finds it),
// delete, add with the chain and no rule.
func open() (guardImpl, error) {
	c, err := lasting()
	if err != nil {
		return nil, err
	}
	t := table()
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	c.AddChain(chain(t))
	if err := c.Flush(); err != nil {
		c.CloseLasting()
		return nil, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return &linuxGuard{conn: c}, nil
}

// renew replaces the socket after a failure.
func (g *linuxGuard) renew() {
	g.conn.CloseLasting()
	if c, err := lasting(); err == nil {
		g.conn = c
	}
}

// hold sends one batch: the table and chain (no-ops when they exist),
// the chain flushed, a rule per address.
func (g *linuxGuard) hold(addrs []netip.Addr) error {
	t := table()
	g.conn.AddTable(t)
	ch := g.conn.AddChain(chain(t))
	g.conn.FlushChain(ch)
	for _, a := range addrs {
		g.conn.AddRule(rule(t, ch, a))
	}
	if err := g.conn.Flush(); err != nil {
		g.renew()
		return fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return nil
}

// release reads the rules' counters, then flushes the chain.
func (g *linuxGuard) release() (uint64, error) {
	t := table()
	ch := chain(t)
	var dropped uint64
	rules, err := g.conn.GetRules(t, ch)
	if err != nil {
		g.renew()
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				dropped += ctr.Packets
			}
		}
	}
	g.conn.FlushChain(ch)
	if err := g.conn.Flush(); err != nil {
		g.renew()
		if errors.Is(err, syscall.ENOENT) {
			return dropped, nil // the table was deleted meanwhile: nothing is held
		}
		return dropped, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return dropped, nil
}

// close deletes the table and closes the socket.
func (g *linuxGuard) close() error {
	g.conn.DelTable(table())
	err := g.conn.Flush()
	g.conn.CloseLasting()
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return nil
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

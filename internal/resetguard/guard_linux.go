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

// The addresses live in two named sets, one per family, and the chain
// holds two rules that look them up: a takeover's Hold is one small batch
// (the sets flushed, their elements added in messages of at most
// elementsPerMessage) whatever the number of virtual addresses, and a
// packet the chain sees costs one set lookup, not a walk of a rule per
// address. (A rule per address failed past a few hundred: the batch's
// acknowledgements overflowed the socket's receive buffer at 300, the
// batch outgrew a netlink message at 500.)
const (
	set4Name = "v4"
	set6Name = "v6"

	// elementsPerMessage bounds one NEWSETELEM message: 512 IPv6
	// elements are about 20 KB, far under a netlink message's limit.
	elementsPerMessage = 512
)

func sets(t *nftables.Table) (v4, v6 *nftables.Set) {
	return &nftables.Set{Table: t, Name: set4Name, KeyType: nftables.TypeIPAddr},
		&nftables.Set{Table: t, Name: set6Name, KeyType: nftables.TypeIP6Addr}
}

// rule is `meta nfproto ipv4|ipv6 meta l4proto tcp ip[6] saddr @v4|@v6
// tcp flags & rst != 0 counter drop`.
func rule(t *nftables.Table, c *nftables.Chain, s *nftables.Set, v6 bool) *nftables.Rule {
	proto, offset, size := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4) // iphdr saddr
	if v6 {
		proto, offset, size = unix.NFPROTO_IPV6, 8, 16 // ipv6hdr saddr
	}
	return &nftables.Rule{Table: t, Chain: c, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},     // TCP flags
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x04}, Xor: []byte{0}}, // RST
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0}},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}}
}

// install queues the table and both sets, empty, on c; with hold, also
// the chain and both rules. Adding a table, chain or set that exists is
// no error, so the batch also mends a table something deleted part of;
// the chain is flushed first, so the rules are never there twice.
//
// Between holds the table has no chain: a base chain is a hook every
// packet the host sends passes through, IPVS's forwarded ones included
// (ip_vs_send_or_cont goes through NF_INET_LOCAL_OUT), so a guard at
// rest costs the data path nothing.
func install(c *nftables.Conn, hold bool) (v4, v6 *nftables.Set, err error) {
	t := table()
	c.AddTable(t)
	v4, v6 = sets(t)
	for _, s := range []*nftables.Set{v4, v6} {
		if err := c.AddSet(s, nil); err != nil {
			return nil, nil, err
		}
		c.FlushSet(s)
	}
	if hold {
		ch := c.AddChain(chain(t))
		c.FlushChain(ch)
		c.AddRule(rule(t, ch, v4, false))
		c.AddRule(rule(t, ch, v6, true))
	}
	return v4, v6, nil
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
// delete, then the table anew with its two empty sets.
func open() (guardImpl, error) {
	c, err := lasting()
	if err != nil {
		return nil, err
	}
	t := table()
	c.AddTable(t)
	c.DelTable(t)
	if _, _, err := install(c, false); err != nil {
		c.CloseLasting()
		return nil, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
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

// hold sends one batch: the table, sets, chain and rules as install
// queues them (the rules made anew, so their counters start at zero and
// count this hold only), and the addresses added to their family's set.
func (g *linuxGuard) hold(addrs []netip.Addr) error {
	v4, v6, err := install(g.conn, true)
	if err == nil {
		err = addElements(g.conn, v4, v6, addrs)
	}
	if err == nil {
		err = g.conn.Flush()
	}
	if err != nil {
		g.renew()
		return fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	return nil
}

// addElements queues addrs into v4 and v6, elementsPerMessage at most in
// one message.
func addElements(c *nftables.Conn, v4, v6 *nftables.Set, addrs []netip.Addr) error {
	var e4, e6 []nftables.SetElement
	for _, a := range addrs {
		if a.Is4() {
			e4 = append(e4, nftables.SetElement{Key: a.AsSlice()})
		} else {
			e6 = append(e6, nftables.SetElement{Key: a.AsSlice()})
		}
	}
	for _, q := range []struct {
		s *nftables.Set
		e []nftables.SetElement
	}{{v4, e4}, {v6, e6}} {
		for len(q.e) > 0 {
			n := min(len(q.e), elementsPerMessage)
			if err := c.SetAddElements(q.s, q.e[:n]); err != nil {
				return err
			}
			q.e = q.e[n:]
		}
	}
	return nil
}

// release reads the rules' counters, then deletes the chain (its hook
// with it) and empties both sets.
func (g *linuxGuard) release() (uint64, error) {
	t := table()
	var dropped uint64
	rules, err := g.conn.GetRules(t, chain(t))
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
	// One batch: the chain's deletion fails whole when a hold's chain is
	// not there (ENOENT, below), so the sets go in a batch of their own.
	g.conn.DelChain(chain(t))
	if err := g.conn.Flush(); err != nil {
		g.renew()
		if !errors.Is(err, syscall.ENOENT) {
			return dropped, fmt.Errorf("nftables table %s: %w", TableName, err)
		}
	}
	v4, v6 := sets(t)
	g.conn.FlushSet(v4)
	g.conn.FlushSet(v6)
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

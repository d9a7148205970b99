package vrrp

import (
	"context"
	"log/slog"
	"time"
)

// SocketStatus is a snapshot of one advert socket: what it dropped before
// any instance could own the packet (a VRID no instance on it has, or a
// packet too short to name one).
type SocketStatus struct {
	Interface string
	Family    string // "inet" or "inet6"
	Multicast bool
	Drops     map[DropReason]uint64
}

// Sockets returns a snapshot of every advert socket.
func (n *Node) Sockets() []SocketStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]SocketStatus, len(n.sockets))
	for i, s := range n.sockets {
		out[i] = s
		out[i].Drops = cloneDrops(s.Drops)
	}
	return out
}

// sharedConn is one advert socket shared by every instance on an
// interface (one for multicast, one for unicast), demultiplexed by VRID.
type sharedConn struct {
	conn        AdvertConn
	ifname      string
	ipv6        bool
	multicast   bool
	opts        SocketOptions // advert_options.go
	insts       []*instance
	drops       map[DropReason]uint64 // packets no instance owns
	lastDropLog map[DropReason]time.Time
	log         *slog.Logger
}

func (c *sharedConn) status() SocketStatus {
	return SocketStatus{Interface: c.ifname, Family: family(c.ipv6), Multicast: c.multicast, Drops: cloneDrops(c.drops)}
}

// socket returns the advert socket of an interface and family, opening it
// (and its reader) on first use.
func (n *Node) socket(ifname string, ipv6, multicast bool, o SocketOptions) (*sharedConn, error) {
	for _, x := range n.conns {
		if x.ifname == ifname && x.ipv6 == ipv6 && x.multicast == multicast && x.opts == o {
			return x, nil
		}
	}
	conn, err := n.listen(ifname, ipv6, multicast, o) // advert_options.go
	if err != nil {
		return nil, err
	}
	sc := &sharedConn{conn: conn, ifname: ifname, ipv6: ipv6, multicast: multicast, opts: o, drops: map[DropReason]uint64{},
		lastDropLog: map[DropReason]time.Time{}, log: n.log.With("interface", ifname, "family", family(ipv6), "multicast", multicast)}
	n.conns = append(n.conns, sc)
	workers := n.workers
	n.goroutines.Go(func() { n.readLoop(workers, sc) })
	return sc, nil
}

func (n *Node) readLoop(ctx context.Context, c *sharedConn) {
	for {
		r, err := c.conn.Read()
		if err != nil {
			if ctx.Err() == nil {
				n.log.Error("VRRP socket read failed", "interface", c.ifname, "err", err)
			}
			return
		}
		// One raw socket sees every protocol-112 packet of the interface:
		// the multicast one keeps its group (224.0.0.18, ff02::12 or
		// mcast_dst_ip's), the unicast one what is not multicast.
		if c.multicast && r.Dst != c.opts.Group || !c.multicast && r.Dst.IsMulticast() {
			continue
		}
		n.post(ctx, func(now time.Time) { n.received(ctx, now, c, r) })
	}
}

// owner returns the instance of the socket whose VRID the packet names,
// or nil.
func (c *sharedConn) owner(r Received) *instance {
	if len(r.Payload) < 2 {
		return nil
	}
	for _, x := range c.insts {
		if x.expect.VRID == r.Payload[1] {
			return x
		}
	}
	return nil
}

// unowned counts a packet no instance on the socket owns: a VRID of
// another virtual router on the segment is discarded (RFC 3768 §7.1) and
// counted against the socket, not against the first instance on it.
func (c *sharedConn) unowned(now time.Time, r Received) {
	drop := DropVRID
	if r.TTL != TTL {
		drop = DropTTL
	} else if _, d := Decode(r.Payload, IPHeader{Src: r.Src, Dst: r.Dst}); d != DropNone {
		drop = d
	}
	c.drops[drop]++
	if last, ok := c.lastDropLog[drop]; !ok || now.Sub(last) >= 10*time.Second {
		c.lastDropLog[drop] = now
		c.log.Debug("dropped VRRP packet of no instance here", "reason", string(drop), "from", r.Src, "ttl", r.TTL,
			"len", len(r.Payload), "count", c.drops[drop])
	}
}

func (n *Node) received(ctx context.Context, now time.Time, c *sharedConn, r Received) {
	in := c.owner(r)
	if in == nil {
		c.unowned(now, r)
		return
	}
	v := Verdict{Drop: in.ahCheck(r)} // ah.go
	if v.Drop == DropNone {
		v = in.expect.Check(r)
	}
	if v.Drop != DropNone {
		if v.Drop == DropOwnAdvert {
			return
		}
		in.ctr.Drops[v.Drop]++
		if last, ok := in.lastDropLog[v.Drop]; !ok || now.Sub(last) >= 10*time.Second {
			in.lastDropLog[v.Drop] = now
			in.log.Warn("dropped VRRP packet", "reason", string(v.Drop), "from", r.Src, "ttl", r.TTL, "len", len(r.Payload),
				"count", in.ctr.Drops[v.Drop])
		}
		return
	}
	in.ctr.AdvertsReceived++
	if v.Advert.Priority == 0 {
		in.ctr.PriorityZeroRecvd++
	}
	if v.AddressMismatch {
		in.ctr.AddressMismatches++
		if in.mismatchFrom != r.Src {
			in.mismatchFrom = r.Src
			in.log.Warn("advert lists other virtual addresses than ours (accepted, keepalived >= 2.3.3)",
				"from", r.Src, "theirs", v.Advert.Addresses, "ours", in.expect.Addresses)
		}
	}
	if !in.started {
		return
	}
	in.ahHeard(r, v.Advert)
	n.apply(ctx, now, in, in.m.Receive(now, r.Src, v.Advert), false)
}

package lvs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// The connection handover: what a director that leaves MASTER sends the new
// master, beside the kernel's master daemon. The kernel syncs a TCP
// connection only once it is ESTABLISHED and on its sync_threshold-th
// packet (ip_vs_sync.c ip_vs_sync_conn_needed), queues it in a buffer sent
// when full or 2 s old (IPVS_SYNC_FLUSH_TIME, looked at every second), and
// throws the buffer away when the master daemon stops. So a connection
// opened on the old master in its last seconds — above all one whose SYN
// the old master scheduled and whose next packet reaches the new master
// after the gratuitous ARP — is unknown to the new master, which answers
// it with a RST (the VIP is local there) or, for NAT, cannot undo the NAT
// of its replies. The old master knows every one of them: lvsd reads its
// connection table (/proc/net/ip_vs_conn_sync) and sends its own recent
// entries, opening or established (SYN_RECV included, which the kernel
// never syncs), in the kernel's sync protocol (version 1) to the
// sync group, where the new master's backup daemon inserts them as it
// inserts the kernel's own messages.

// Conn is one entry of the kernel's IPVS connection table, as
// /proc/net/ip_vs_conn_sync lists it (`ipvsadm -Lnc` reads the same table).
type Conn struct {
	Protocol string // "TCP", "UDP", "SCTP"
	Client   netip.AddrPort
	Virtual  netip.AddrPort
	Dest     netip.AddrPort
	State    string // the kernel's name: "ESTABLISHED", "SYN_RECV", "UDP", …
	Synced   bool   // origin SYNC: received from the peer's master daemon
	Expires  time.Duration
}

// parseConnections reads /proc/net/ip_vs_conn_sync (ip_vs_conn.c
// ip_vs_conn_sync_seq_show): a header line, then per entry the protocol,
// client, virtual and destination address and port (IPv4 as %08X, IPv6
// in full, ports as %04X), the state, the origin and the seconds left.
func parseConnections(r io.Reader) ([]Conn, error) {
	var conns []Conn
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) < 10 {
			continue
		}
		c := Conn{Protocol: string(f[0]), State: string(f[7]), Synced: bytes.EqualFold(f[8], []byte("SYNC"))}
		var err error
		if c.Client, err = procAddrPort(f[1], f[2]); err == nil {
			if c.Virtual, err = procAddrPort(f[3], f[4]); err == nil {
				c.Dest, err = procAddrPort(f[5], f[6])
			}
		}
		if err != nil {
			return nil, fmt.Errorf("connection table line %q: %w", sc.Text(), err)
		}
		secs, err := strconv.ParseUint(string(f[9]), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("connection table line %q: expires: %w", sc.Text(), err)
		}
		c.Expires = time.Duration(secs) * time.Second
		conns = append(conns, c)
	}
	return conns, sc.Err()
}

// procAddrPort decodes an address (8 hex digits for IPv4, the %pI6 form
// for IPv6) and a port (4 hex digits) of the connection table.
func procAddrPort(addr, port []byte) (netip.AddrPort, error) {
	p, ok := procHex(port, 4) // proctable.go: the same "%04X" as /proc/net/ip_vs
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("port %q: want 4 hex digits", port)
	}
	if v, ok := procHex(addr, 8); ok {
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		return netip.AddrPortFrom(a, uint16(p)), nil
	}
	a, err := netip.ParseAddr(string(addr))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// tcpState is one of the kernel's TCP connection states worth sending:
// its number (IP_VS_TCP_S_* in include/net/ip_vs.h) and its default
// timeout (ip_vs_proto_tcp.c tcp_timeouts), which a packet resets.
type tcpState struct {
	number  uint16
	timeout time.Duration
}

// tcpStateByName maps the names of ip_vs_proto_tcp.c tcp_state_name_table
// to the states worth handing over: the ones a request can still be in.
// The closing states are left out: the kernel syncs a move into them at
// once (ip_vs_sync_conn_needed), a reset there costs the client nothing
// it still waits for, and an entry handed over for a closed connection
// would outlive it on the new master, where a client reusing its port
// finds it: the kernel does not sync an entry it received again before
// sync_threshold + sync_period packets, so the reused connection would
// not reach the next director (seen as a node loss losing two thirds of
// 10,000 connections in the benchmark). TIME_WAIT and CLOSE likewise.
func tcpStateByName(name string) (tcpState, bool) {
	switch name {
	case "ESTABLISHED":
		return tcpState{1, 15 * time.Minute}, true
	case "SYN_RECV":
		return tcpState{3, time.Minute}, true
	case "SYNACK":
		return tcpState{10, 2 * time.Minute}, true
	}
	return tcpState{}, false
}

// handoverRecent is how recently an entry must have seen a packet to be
// handed over. The kernel's master daemon sends an entry within about
// 3 s (IPVS_SYNC_FLUSH_TIME plus its check period) of the packet that
// makes it sync, when its thread gets to run: on a loaded director later
// (entries 7 s old were still missing in the test VM), and never once the
// daemon stops with the entry in its buffer. An entry idle for longer is
// on the new master already, or was never going to be (an idle
// connection past its sync). A packet resets an entry's timer to its
// state's timeout, so an entry is recent when it expires in more than
// that timeout less handoverRecent. With timeouts raised by `ipvsadm
// --set`, more entries look recent (sent again, harmless); with timeouts
// lowered, fewer (left to the kernel's sync).
const handoverRecent = 15 * time.Second

const tcpEstablished = 1

// Sync protocol constants (ip_vs_sync.c, linux/ip_vs.h).
const (
	syncProtoVersion      = 1
	syncMesgHeaderLen     = 8  // struct ip_vs_sync_mesg
	syncConnV4Len         = 36 // struct ip_vs_sync_v4
	syncConnV6Len         = 72 // struct ip_vs_sync_v6
	syncTypeInet6         = 1  // STYPE_F_INET6
	connFlagNoOutput      = 0x0080
	connFlagInactive      = 0x0100
	ipprotoTCP            = 6
	ipprotoUDP            = 17
	handoverMessageMaxLen = 1024 // every backup daemon reads at least this much (start_sync_thread clamps its maxlen to 1024 and up)
)

// handoverEntry is a connection to send, with the forwarding method of its
// destination (the table does not list it; the configuration has it).
type handoverEntry struct {
	Conn
	Forward Forward
}

// handoverable reports whether c is one of this director's own live
// entries that saw a packet in the last handoverRecent, and returns its
// protocol and state numbers.
func handoverable(c Conn) (proto uint8, state uint16, ok bool) {
	if c.Synced {
		return 0, 0, false
	}
	switch c.Protocol {
	case "TCP":
		st, ok := tcpStateByName(c.State)
		return ipprotoTCP, st.number, ok && c.Expires > st.timeout-handoverRecent
	case "UDP":
		return ipprotoUDP, 0, c.Expires > 5*time.Minute-handoverRecent // IP_VS_UDP_S_NORMAL, udp_timeouts
	}
	return 0, 0, false
}

// syncMessages encodes entries as sync protocol version 1 messages
// (struct ip_vs_sync_mesg followed by struct ip_vs_sync_v4 or v6 per
// connection, ip_vs_sync.c) with syncID, each at most maxLen bytes and
// 255 connections. The timeout is left 0: the receiving kernel gives the
// entry its state's timeout. Entries that are not handoverable are skipped.
func syncMessages(entries []handoverEntry, syncID uint8, maxLen int) [][]byte {
	var msgs [][]byte
	var cur []byte
	n := 0
	end := func() {
		if n == 0 {
			return
		}
		binary.BigEndian.PutUint16(cur[2:4], uint16(len(cur)))
		cur[4] = byte(n)
		msgs = append(msgs, cur)
		cur, n = nil, 0
	}
	for _, e := range entries {
		proto, state, ok := handoverable(e.Conn)
		if !ok || e.Client.Addr().Is4() != e.Virtual.Addr().Is4() || e.Client.Addr().Is4() != e.Dest.Addr().Is4() {
			continue
		}
		size := syncConnV4Len
		if !e.Client.Addr().Is4() {
			size = syncConnV6Len
		}
		if n == 255 || cur != nil && len(cur)+size > maxLen {
			end()
		}
		if cur == nil {
			cur = make([]byte, syncMesgHeaderLen, maxLen)
			cur[1] = syncID
			cur[5] = syncProtoVersion
		}
		flags := uint32(e.Forward) & 0x7
		if e.Forward == ForwardRoute || e.Forward == ForwardTunnel {
			flags |= connFlagNoOutput
		}
		if proto == ipprotoTCP && state != tcpEstablished {
			flags |= connFlagInactive
		}
		c := make([]byte, size)
		if size == syncConnV6Len {
			c[0] = syncTypeInet6
		}
		c[1] = proto
		binary.BigEndian.PutUint16(c[2:4], uint16(size)) // version 0 in the top 4 bits
		binary.BigEndian.PutUint32(c[4:8], flags)
		binary.BigEndian.PutUint16(c[8:10], state)
		binary.BigEndian.PutUint16(c[10:12], e.Client.Port())
		binary.BigEndian.PutUint16(c[12:14], e.Virtual.Port())
		binary.BigEndian.PutUint16(c[14:16], e.Dest.Port())
		// fwmark (16:20) and timeout (20:24) stay 0.
		if size == syncConnV4Len {
			ca, va, da := e.Client.Addr().As4(), e.Virtual.Addr().As4(), e.Dest.Addr().As4()
			copy(c[24:28], ca[:])
			copy(c[28:32], va[:])
			copy(c[32:36], da[:])
		} else {
			ca, va, da := e.Client.Addr().As16(), e.Virtual.Addr().As16(), e.Dest.Addr().As16()
			copy(c[24:40], ca[:])
			copy(c[40:56], va[:])
			copy(c[56:72], da[:])
		}
		cur = append(cur, c...)
		n++
	}
	end()
	return msgs
}

// ConnSender is the kernel side of the connection handover: the connection
// table and a socket on the sync group. The Linux kernel implements it.
type ConnSender interface {
	ConnTable() ([]Conn, error)
	// SendSync multicasts the messages to d's group and port on d's
	// interface with d's TTL, as a master daemon with d's settings would.
	SendSync(d SyncDaemon, msgs [][]byte) error
}

// connKey identifies an entry of the connection table.
type connKey struct {
	proto           string
	client, virtual netip.AddrPort
}

// HandoverMemo remembers what HandOverConnections sent, so that repeated
// sends of one handover send only what is new or changed. The zero value sends
// everything.
type HandoverMemo struct {
	sent map[connKey]string // the state and destination sent
}

// HandOverConnections sends this director's own live connection entries that
// memo has not sent yet (or sent in another state) to the sync group of d
// (a master daemon's settings), for the new master's backup daemon, and
// returns how many it sent. The forwarding method of each entry is the
// one its virtual server configures.
func (m *Manager) HandOverConnections(d SyncDaemon, memo *HandoverMemo) (int, error) {
	ks, ok := m.kernel.(ConnSender)
	if !ok {
		return 0, errors.New("this IPVS kernel cannot send connections")
	}
	conns, err := ks.ConnTable()
	if err != nil {
		return 0, fmt.Errorf("reading the IPVS connection table: %w", err)
	}
	if memo.sent == nil {
		memo.sent = map[connKey]string{}
	}
	m.mu.Lock()
	var entries []handoverEntry
	for _, c := range conns {
		if _, _, ok := handoverable(c); !ok {
			continue
		}
		k := connKey{c.Protocol, c.Client, c.Virtual}
		v := c.State + " " + c.Dest.String()
		if memo.sent[k] == v {
			continue
		}
		fwd, ok := m.forwardOfLocked(c)
		if !ok {
			continue
		}
		memo.sent[k] = v
		entries = append(entries, handoverEntry{c, fwd})
	}
	m.mu.Unlock()
	if len(entries) == 0 {
		return 0, nil
	}
	maxLen := handoverMessageMaxLen
	if d.MaxLen != 0 && int(d.MaxLen) < maxLen {
		maxLen = max(int(d.MaxLen), syncMesgHeaderLen+syncConnV6Len)
	}
	if err := ks.SendSync(d, syncMessages(entries, d.SyncID, maxLen)); err != nil {
		return 0, fmt.Errorf("sending %d connections to the sync group: %w", len(entries), err)
	}
	return len(entries), nil
}

// forwardOfLocked finds the forwarding method of c's destination in the
// configuration: the virtual server at c's virtual address (or, for a
// firewall-mark service, whose packets keep their own address, any
// virtual server with that real server). m.mu is held.
func (m *Manager) forwardOfLocked(c Conn) (Forward, bool) {
	if vs, ok := m.byKey[c.Protocol+":"+c.Virtual.String()]; ok {
		if ss := vs.SorryServer; ss != nil && ss.Addr == c.Dest {
			return forwardOf(ss.LBKind), true
		}
		return forwardOf(vs.LBKind), true
	}
	if m.cfg == nil {
		return 0, false
	}
	for i := range m.cfg.VirtualServers {
		vs := &m.cfg.VirtualServers[i]
		for _, rs := range vs.RealServers {
			if rs.Addr == c.Dest || rs.Addr.Port() == 0 && rs.Addr.Addr() == c.Dest.Addr() {
				return forwardOf(vs.LBKind), true
			}
		}
	}
	return 0, false
}

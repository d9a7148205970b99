package lvs

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of a sync daemon's multicast settings (linux/ip_vs.h,
// ip_vs_sync.c start_sync_thread) when SyncDaemon leaves them zero.
const (
	syncDefaultPort = 8848 // IP_VS_SYNC_PORT
	syncDefaultTTL  = 1
)

var (
	syncDefaultGroup4 = net.IPv4(224, 0, 0, 81) // IP_VS_SYNC_GROUP
	syncDefaultGroup6 = net.ParseIP("ff02::81") // IP_VS_SYNC_GROUP6
)

// ConnTable implements ConnSender: the connection table of the namespace
// (/proc/net/ip_vs_conn_sync).
func (k *linuxKernel) ConnTable() ([]Conn, error) {
	data, err := k.connTable()
	if err != nil {
		return nil, err
	}
	return parseConnections(bytes.NewReader(data))
}

// SendSync implements ConnSender: a UDP socket with the multicast
// interface, TTL and no loopback of the kernel's make_send_sock, one
// datagram per message.
func (k *linuxKernel) SendSync(d SyncDaemon, msgs [][]byte) error {
	if k.netns == "" {
		return sendSync(d, msgs)
	}
	return inNamespace(k.netns, func() error { return sendSync(d, msgs) })
}

func sendSync(d SyncDaemon, msgs [][]byte) error {
	ifi, err := net.InterfaceByName(d.Interface)
	if err != nil {
		return err
	}
	port := int(d.Port)
	if port == 0 {
		port = syncDefaultPort
	}
	ttl := int(d.TTL)
	if ttl == 0 {
		ttl = syncDefaultTTL
	}
	v6 := d.Group.IsValid() && d.Group.Is6() && !d.Group.Is4In6()
	family, group := unix.AF_INET, syncDefaultGroup4
	if v6 {
		family, group = unix.AF_INET6, syncDefaultGroup6
	}
	if d.Group.IsValid() {
		group = net.IP(d.Group.Unmap().AsSlice())
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var to unix.Sockaddr
	if v6 {
		err = errors.Join(
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index),
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, ttl),
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0))
		sa := &unix.SockaddrInet6{Port: port, ZoneId: uint32(ifi.Index)}
		copy(sa.Addr[:], group.To16())
		to = sa
	} else {
		err = errors.Join(
			unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)}),
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl),
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0))
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], group.To4())
		to = sa
	}
	if err != nil {
		return fmt.Errorf("sync socket on %s: %w", d.Interface, err)
	}
	for i, m := range msgs {
		if i > 0 && i%handoverBurst == 0 {
			// Let the receiving backup daemon's thread drain its
			// socket (its receive buffer holds ~200 datagrams).
			time.Sleep(handoverPause)
		}
		if err := unix.Sendto(fd, m, 0, to); err != nil {
			return fmt.Errorf("sending to the sync group on %s: %w", d.Interface, err)
		}
	}
	return nil
}

// A large handover (10,000 connections make some 360 datagrams) is sent
// in bursts of handoverBurst datagrams, handoverPause apart.
const (
	handoverBurst = 64
	handoverPause = 2 * time.Millisecond
)

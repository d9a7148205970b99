package announce

import (
	"context"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

// Speaker is the BGP edge: a session to each neighbor of an announce block
// and the routes announced over them. gobgp.go is the real one; tests
// inject a fake.
type Speaker interface {
	// Start opens the sessions of the announce block; the speaker runs
	// until Stop.
	Start(ctx context.Context, cfg *hcl.Announce) error
	// Announce advertises prefix to every neighbor of its address family,
	// with the block's communities and MED; Withdraw takes it back.
	Announce(ctx context.Context, prefix netip.Prefix) error
	Withdraw(ctx context.Context, prefix netip.Prefix) error
	// Peers reports each neighbor's session.
	Peers(ctx context.Context) []PeerStatus
	// Stop closes every session (a BGP NOTIFICATION Cease to each).
	Stop()
}

// PeerStatus is one neighbor's session as `lvsd status` shows it.
type PeerStatus struct {
	Addr     netip.Addr
	RemoteAS uint32
	State    string // the RFC 4271 section 8 state: "established", "active", …
	// Received counts the routes the neighbor sent (all rejected: lvsd
	// announces only); Advertised the routes sent to it.
	Received, Advertised uint64
}

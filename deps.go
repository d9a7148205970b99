//go:build tools

package lvsd

import (
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/mdlayher/arp"
	_ "github.com/moby/ipvs"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/vishvananda/netlink"
	_ "github.com/zclconf/go-cty/cty"
	_ "golang.org/x/net/ipv4"
)

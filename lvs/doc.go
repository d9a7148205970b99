// Package lvs owns the kernel's IPVS virtual-server table.
//
// It turns (configuration, VRRP mastership, health verdicts) into a desired
// Table (Desired), compares it with the table read from the kernel (Diff,
// Plan) and executes the resulting operations through a small Kernel
// interface: OpenKernel reads with github.com/moby/ipvs and writes with a
// batched generic-netlink writer that packs many IPVS commands into one
// sendmsg. Manager ties these together and keeps the kernel equal to the
// desired state: on start (adopting what is there), on reload, on health
// and mastership events, and periodically to undo outside edits.
//
// The package reconciles and never flushes: it changes only services that
// the configuration names ("owned", even while withdrawn) and leaves every
// other service ("foreign") alone, reporting it. It never decides health
// (package checks does) or mastership (package vrrp does), and it never
// touches addresses, routes or ARP.
package lvs

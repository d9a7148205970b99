// Package kadiff is what the two harnesses of the keepalived differential
// share: integration's keepalived_diff_test.go, which runs keepalived 2.2.7
// and lvsd on the corpus in the host's namespaces, and the VM's
// kadiff_adverts_test.go (integration/vm/scenarios), which runs the files
// whose keepalived VRRP process needs IPVS, absent from the host kernel.
//
//   - links.go: the namespace holding the links the corpus names (veth
//     pairs eth0..eth3 with their far sides p0..p3).
//   - advert.go: a VRRP advert as the harnesses compare it (VRID, priority,
//     interval, authentication, addresses), decoded from a frame.
//   - run.go: one daemon run alone in a fresh namespace, the adverts read
//     off the wire on the far side of every link, whether it started VRRP
//     instances, and which files need IPVS.
//
// It is a package of its own so both test binaries share it; it owns no
// lvsd behaviour.
package kadiff

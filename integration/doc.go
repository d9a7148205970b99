// Package integration holds lvsd's tests against real kernels and real
// peers: network namespaces on the host (VRRP between lvsd nodes and with
// keepalived and FRR's vrrpd as peers, files netns*.go and vrrp*_test.go; BGP
// announcement by three directors to BIRD 2 and FRR with ECMP, bgp_test.go;
// keepalived 2.2.7 beside lvsd on the same files, keepalived_diff_test.go
// with package kadiff, which the VM's kadiff_adverts_test.go shares, and
// their e-mail alerts and notify FIFO lines, keepalived_alert_test.go, the
// checker side in vm/scenarios/alerts_test.go) and a qemu VM
// with the IPVS modules (integration/vm, *_vm_test.go; the three-director
// cluster behind BIRD with real IPVS is vm/scenarios/cluster_test.go, run
// by ipvs_vm_test.go and, for make bench, cluster_bench_vm_test.go). The tests need root
// and skip cleanly without it or without a tool they need.
package integration

// Package lvstest holds the fixtures for tests of code that drives package
// lvs: FakeKernel, an in-memory IPVS table that answers like the kernel
// (fakekernel.go), with the kernel's connection sync daemons
// (fakesync.go) and its /proc/net/ip_vs as Linux 6.1 prints it
// (procipvs.go); the synthetic benchmark configuration and its table,
// and a keepalived.conf writer for it (synthetic.go); and the rules format
// of `ipvsadm -S` / `ipvsadm -R`, the reference loader of the kernel tests
// and benchmarks (ipvsadm.go: a writer, and hcl.ReadIPVSADMRules's lines as
// an lvs.Table).
//
// Only tests import it (imports_test.go checks): nothing here is part of
// lvsd.
package lvstest

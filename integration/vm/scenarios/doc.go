// Package scenarios holds the tests that run inside the IPVS test VM (see
// package vm): they build a director namespace, two real-server namespaces
// running busybox httpd and a client namespace, program IPVS and check the
// table with ipvsadm (the independent reader) and the traffic with a Go
// HTTP client. On any other machine they skip: they run only when
// LVSD_VM_GUEST=1, which the VM's runner sets, because they rewrite
// namespaces, sysctls and the IPVS table.
package scenarios

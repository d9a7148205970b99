// Package hcl owns lvsd's configuration: it reads HCL, HCL-JSON and
// keepalived.conf into one immutable, defaulted and validated model (Config)
// whose every block and attribute remembers its FILE:LINE:COL.
//
// Vocabulary and defaults are keepalived's (keepalived.conf(5)); where lvsd
// differs it says so beside the field. The package never touches the network
// or the kernel: it only reads files and, for hostname(), the host name.
package hcl

// Package examples holds configurations a user copies (the .hcl, .hcl.json
// and Ansible template files beside this one) and the test that keeps every
// one of them valid. It has no code of its own.
package examples

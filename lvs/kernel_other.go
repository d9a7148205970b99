//go:build !linux

package lvs

import (
	"errors"
	"log/slog"
)

// KernelOptions configure OpenKernelWith.
type KernelOptions struct {
	NetnsPath  string
	OneByOne   bool
	MobyReads  bool
	Logger     *slog.Logger
	LoadModule bool
	Modprobe   string
}

// OpenKernel fails: IPVS exists only on Linux.
func OpenKernel(netnsPath string) (Kernel, error) {
	return OpenKernelWith(KernelOptions{NetnsPath: netnsPath})
}

// OpenKernelWith fails: IPVS exists only on Linux.
func OpenKernelWith(KernelOptions) (Kernel, error) {
	return nil, errors.New("IPVS is only available on Linux")
}

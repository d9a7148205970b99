package hcl

import (
	"sync"
	"sync/atomic"

	hcl2 "github.com/hashicorp/hcl/v2"
)

// This file decodes the virtual_server blocks of a big HCL file on
// several goroutines, as keepalived_parts.go reads a big keepalived.conf's:
// once its pieces are parsed (decode.go parseInPieces), decoding the
// blocks of a table of thousands of services was the HCL read's biggest
// part left, on one goroutine (BenchmarkLoadBigHCL).
//
// A virtual_server block's decode reads nothing another block sets: it
// writes its service, its own positions and its diagnostics, no more
// (virtual_server "group NAME" too: the group is expanded after the whole
// file, expandGroups). So the file's virtual servers are decoded ahead,
// each goroutine with a decoder of its own taking the next chunk of them,
// and each service is joined, with its diagnostics, where the file has it
// among the other blocks, which are decoded in order as before: the model
// and the diagnostics, in order, are those of a decode on one goroutine
// (decode_runs_test.go).

const (
	// decodeServicesMin is the number of virtual servers in a file from
	// which they are decoded on several goroutines (Workers).
	decodeServicesMin = 128
	// serviceChunk is how many virtual servers a goroutine takes at a
	// time: small enough to keep both processors busy to the end when one
	// is slowed, big enough that taking one costs nothing.
	serviceChunk = 32
)

// decodedService is a virtual_server block decoded ahead: the service and
// the diagnostics its decode made, in order.
type decodedService struct {
	vs    VirtualServer
	diags Diagnostics
}

// servicesAhead decodes the virtual_server blocks among blocks on up to
// one goroutine per processor (Workers; Loader.parts in tests) and returns
// them in the file's order, or nil when they are too few to share.
func (d *decoder) servicesAhead(blocks []*hcl2.Block) []decodedService {
	var services []*hcl2.Block
	for _, b := range blocks {
		if b.Type == "virtual_server" {
			services = append(services, b)
		}
	}
	parts := d.loader.parts
	if parts == 0 {
		parts = Workers(len(services), decodeServicesMin)
	}
	if parts < 2 || len(services) < 2 {
		return nil
	}
	// A few services are shared out one by one (tests on small files).
	chunk := min(serviceChunk, (len(services)+parts-1)/parts)
	out := make([]decodedService, len(services))
	var next atomic.Int64
	decode := func() {
		w := &decoder{loader: d.loader, ctx: d.ctx, cfg: &Config{}}
		for {
			from := int(next.Add(int64(chunk))) - chunk
			if from >= len(services) {
				return
			}
			for k := from; k < min(from+chunk, len(services)); k++ {
				mark := len(w.diags)
				w.virtualServer(services[k])
				out[k].vs = w.cfg.VirtualServers[0]
				w.cfg.VirtualServers = w.cfg.VirtualServers[:0]
				out[k].diags = w.diags[mark:len(w.diags):len(w.diags)]
			}
		}
	}
	var wg sync.WaitGroup
	for range min(parts, (len(services)+chunk-1)/chunk) - 1 {
		wg.Go(decode)
	}
	decode()
	wg.Wait()
	return out
}

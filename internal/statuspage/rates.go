package statuspage

import (
	"sync"
	"time"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
)

const (
	// sampleSpacing is the shortest time between two kept samples: rates
	// over less would be noise.
	sampleSpacing = time.Second
	// samplesKept bounds the ring; rates are taken over the oldest sample,
	// so about samplesKept page loads.
	samplesKept = 8
)

// sample is the kernel counters of one snapshot.
type sample struct {
	at       time.Time
	services map[string]lvs.Stats // by service key
	reals    map[string]uint64    // connections, by "SERVICE REAL"
}

// rateKeeper keeps the last samples and turns two of them into rates.
type rateKeeper struct {
	mu      sync.Mutex
	samples []sample // oldest first
}

// rates is the per-second change of the counters between two samples.
type rates struct {
	seconds  float64
	services map[string]serviceRates
	reals    map[string]float64
}

// serviceRates are one virtual service's rates (exported for the
// template).
type serviceRates struct {
	Conns, PacketsIn, PacketsOut, BitsIn, BitsOut float64
}

// observe records r's counters and returns the rates since the oldest kept
// sample at least sampleSpacing older; ok is false on a first look.
func (k *rateKeeper) observe(r director.Report) (rates, bool) {
	cur := sample{at: r.Now, services: map[string]lvs.Stats{}, reals: map[string]uint64{}}
	for _, s := range r.Services {
		if !s.InKernel {
			continue
		}
		cur.services[s.Key] = s.Stats
		for _, d := range s.Destinations {
			if d.InKernel {
				cur.reals[s.Key+" "+d.Addr.String()] = d.Stats.Conns
			}
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var base *sample
	for i := range k.samples {
		if cur.at.Sub(k.samples[i].at) >= sampleSpacing {
			base = &k.samples[i]
			break
		}
	}
	var out rates
	ok := base != nil
	if ok {
		out = between(*base, cur)
	}
	if n := len(k.samples); n == 0 || cur.at.Sub(k.samples[n-1].at) >= sampleSpacing {
		k.samples = append(k.samples, cur)
		if len(k.samples) > samplesKept {
			k.samples = k.samples[1:]
		}
	}
	return out, ok
}

// between computes the rates from a to b; a counter that went backwards
// (a service recreated) has no rate.
func between(a, b sample) rates {
	secs := b.at.Sub(a.at).Seconds()
	out := rates{seconds: secs, services: map[string]serviceRates{}, reals: map[string]float64{}}
	per := func(x, y uint64) float64 {
		if y < x {
			return -1
		}
		return float64(y-x) / secs
	}
	for key, now := range b.services {
		then, ok := a.services[key]
		if !ok {
			continue
		}
		out.services[key] = serviceRates{
			Conns:      per(then.Conns, now.Conns),
			PacketsIn:  per(then.PacketsIn, now.PacketsIn),
			PacketsOut: per(then.PacketsOut, now.PacketsOut),
			BitsIn:     8 * per(then.BytesIn, now.BytesIn),
			BitsOut:    8 * per(then.BytesOut, now.BytesOut),
		}
	}
	for key, now := range b.reals {
		if then, ok := a.reals[key]; ok {
			out.reals[key] = per(then, now)
		}
	}
	return out
}

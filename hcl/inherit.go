package hcl

import "time"

// checkerSettings holds the checker settings that a virtual server, a real
// server and a checker may each set, in HCL and in keepalived.conf alike
// (keepalived's check_parser.c lets all three carry them).
type checkerSettings struct {
	timeout    opt[time.Duration] // connect_timeout
	delayLoop  opt[time.Duration] // delay_loop
	warmup     opt[time.Duration] // warmup
	retryDelay opt[time.Duration] // delay_before_retry
	retry      opt[int]           // retry, nb_get_retry
	alpha      opt[bool]          // alpha
	// virtualhost is the Host header of HTTP_GET and SSL_GET.
	virtualhost opt[string]
}

// inheritance is where a checker's settings come from, nearest block
// first: the checker, its real server, its virtual server. The nearest
// block that sets a value wins; the model holds the result, so no consumer
// looks at the virtual server again.
type inheritance [3]*checkerSettings

// nearest returns the value of the nearest block that sets the setting that
// get picks, or def when none does.
func nearest[T any](chain inheritance, get func(*checkerSettings) opt[T], def T) T {
	for _, s := range chain {
		if v := get(s); v.set {
			return v.v
		}
	}
	return def
}

// checkerDefaults are the defaults of the settings whose value depends on
// the checker's kind and, for MISC_CHECK, on the language (defaults.go).
type checkerDefaults struct {
	retry      int
	retryDelay time.Duration
	// retryDelayIsLoop makes delay_before_retry default to the checker's
	// delay_loop (DNS_CHECK).
	retryDelayIsLoop bool
}

// resolve sets c's inherited settings (connect_timeout, delay_loop,
// warmup, delay_before_retry, retry, alpha, virtualhost) from the nearest
// block that sets each, else from the defaults.
func (chain inheritance) resolve(c *Checker, def checkerDefaults) {
	c.Timeout = nearest(chain, func(s *checkerSettings) opt[time.Duration] { return s.timeout }, defaultConnectTimeout)
	c.DelayLoop = nearest(chain, func(s *checkerSettings) opt[time.Duration] { return s.delayLoop }, defaultDelayLoop)
	// keepalived: warmup defaults to the checker's delay_loop.
	c.Warmup = nearest(chain, func(s *checkerSettings) opt[time.Duration] { return s.warmup }, c.DelayLoop)
	if def.retryDelayIsLoop {
		def.retryDelay = c.DelayLoop
	}
	c.RetryDelay = nearest(chain, func(s *checkerSettings) opt[time.Duration] { return s.retryDelay }, def.retryDelay)
	// The readers refuse a retry above math.MaxInt32 (keepalived's int).
	c.Retry = int32(nearest(chain, func(s *checkerSettings) opt[int] { return s.retry }, def.retry))
	c.Alpha = nearest(chain, func(s *checkerSettings) opt[bool] { return s.alpha }, false)
	// check_http.c: the checker's virtualhost, else the real server's,
	// else the virtual server's. Other kinds send no Host header.
	if h := c.HTTP(); h != nil {
		h.Virtualhost = nearest(chain, func(s *checkerSettings) opt[string] { return s.virtualhost }, "")
	}
}

package hcl

import "time"

// Defaults shared by both readers. keepalived's own defaults are cited
// beside each (keepalived.conf(5)); lvsd-only settings say so.
const (
	defaultAdvertInt        = time.Second // advert_int 1 (RFC 3768 §5.3.7)
	defaultPriority         = 100         // RFC 3768 §5.3.4: backups default to 100
	defaultGarpMasterDelay  = 5 * time.Second
	defaultGarpMasterRepeat = 5
	defaultGarpRefreshCount = 1
	defaultDelayLoop        = 60 * time.Second
	defaultConnectTimeout   = 5 * time.Second
	defaultRetry            = 1
	defaultTCPRetryDelay    = 1 * time.Second
	defaultHTTPRetryDelay   = 3 * time.Second
	defaultWeight           = 1
	defaultQuorum           = 1
	defaultScriptInterval   = time.Second
	defaultPersistence      = 360 * time.Second // bare persistence_timeout
)

// defaultGlobal returns the global settings before the file is applied.
func defaultGlobal() Global {
	return Global{
		LVSProgram:        LVSProgramMaster,
		NotifyTimeout:     30 * time.Second,      // lvsd: keepalived has no notify timeout
		ControlSocket:     "/run/lvsd/lvsd.sock", // lvsd
		ReconcileInterval: 10 * time.Second,      // lvsd
	}
}

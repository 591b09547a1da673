// Package system serves a host's figures for an internal dashboard: CPU %,
// memory % and available bytes, disk % and free bytes for one directory,
// goroutines, uptime, version and open connections (counted by a
// [ConnCounter] wired to http.Server.ConnState), as JSON.
//
// It is apart from package health so that a service that only needs probes
// does not link gopsutil:
//
//	conns := &system.ConnCounter{}
//	sys, err := system.New(system.WithDiskPath("/var/lib/app"), system.WithConnCounter(conns))
//	...
//	internal.Handle("GET /metrics/health", sys)
//	srv.ConnState = conns.ConnState
//
// Figures are read through gopsutil at most once per cache TTL. The handler
// exposes details of the host: mount it on an internal listener or behind
// authentication.
package system

// Package poolbench measures pool.Resources against the puddle pool it is
// built on, to show what its lifetime, idle, use-count and reset
// bookkeeping costs per acquire and release.
package poolbench

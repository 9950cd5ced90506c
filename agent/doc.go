// Package agent is orbd's scheduler: it turns a policies.Config into running
// policies (cron or run-once, never overlapping), fans every run out as one
// task per target over a single bounded worker pool that is fair across
// policies, hands inventories to the delivery pipeline, applies config
// reloads as a diff (add / remove / change by fingerprint), and serves the
// local status, metrics and health API.
//
// Lifetimes: Run owns every goroutine the agent starts. Apply only asks
// Run's loop to reconcile, so no context is stored in a struct and nothing
// outlives Run.
package agent

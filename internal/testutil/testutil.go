// Package testutil holds small helpers shared by tests of several packages.
package testutil

import (
	"testing"
	"time"
)

// Eventually polls cond every 20 ms until it holds, or fails the test after d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

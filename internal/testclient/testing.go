package testclient

import (
	"context"
	"testing"
	"time"
)

// JoinTest joins with a fresh API and a 30 s deadline for tests: it fails tb
// when the join does, and closes the client when tb ends.
func JoinTest(tb testing.TB, o Options) *Client {
	tb.Helper()
	api, err := API()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Join(ctx, api, o)
	if err != nil {
		tb.Fatalf("join %s: %v", o.Room, err)
	}
	tb.Cleanup(c.Close)
	return c
}

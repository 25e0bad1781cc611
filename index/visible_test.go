package index

import (
	"context"
	"errors"
	"strings"
	"testing"

	"switchyard"
	"switchyard/connector/jirasim"
)

// TestVisibleKeys: over a simulated world, for every kind of user, the keys
// reported visible are exactly those the simulator's oracle lets the user
// see; unknown and malformed keys are never visible.
func TestVisibleKeys(t *testing.T) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 5, Projects: 5, Issues: 120})
	idx := simIndex(t, w)
	ctx := context.Background()
	var keys []string
	for _, is := range w.Issues[:80] {
		keys = append(keys, strings.ToLower(is.Key)) // any case
	}
	keys = append(keys, "NOPE-999", "not a key", "")
	hiddenSeen, visibleSeen := 0, 0
	for _, u := range w.Users[:min(len(w.Users), 30)] {
		got, err := idx.VisibleKeys(ctx, VisibleKeysRequest{Connection: simConn, AsUser: u.AccountID, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range w.Issues[:80] {
			want := w.CanSee(u.AccountID, is.Key, "")
			if got[is.Key] != want {
				t.Fatalf("%s as %s: visible=%v, the oracle says %v", is.Key, u.AccountID, got[is.Key], want)
			}
			if want {
				visibleSeen++
			} else {
				hiddenSeen++
			}
		}
		if got["NOPE-999"] || len(got) > 80 {
			t.Fatalf("as %s: unknown keys reported visible: %v", u.AccountID, got)
		}
	}
	if hiddenSeen == 0 || visibleSeen == 0 {
		t.Fatalf("checked %d visible and %d hidden (user, key) pairs; the world should have both", visibleSeen, hiddenSeen)
	}
	if _, err := idx.VisibleKeys(ctx, VisibleKeysRequest{Connection: simConn, AsUser: w.Users[0].AccountID, Keys: make([]string, MaxVisibleKeys+1)}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("too many keys: %v, want ErrInvalid", err)
	}
}

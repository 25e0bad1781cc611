package main

import (
	"bytes"
	"strings"
	"testing"

	syncer "switchyard/sync"
)

// TestPrintStatusRequestTypes: status shows the stored JSM request types of
// a connection that has some, and no such line for one without.
func TestPrintStatusRequestTypes(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]int
		want   string // "" = no line
	}{
		{map[string]int{"issues": 3, "request_types": 5}, "  service management: request types 5\n"},
		{map[string]int{"issues": 3}, ""},
	} {
		var b bytes.Buffer
		printStatus(&b, syncer.Status{Connection: "acme", State: "idle", Counts: tc.counts})
		got := b.String()
		if tc.want == "" && strings.Contains(got, "request types") || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("counts %v: status\n%s\nwant line %q", tc.counts, got, tc.want)
		}
	}
}

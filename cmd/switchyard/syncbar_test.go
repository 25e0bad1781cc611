package main

import (
	"bytes"
	"strings"
	"testing"

	syncer "switchyard/sync"
)

// When stderr is not a terminal the progress is a few plain lines, not a
// redrawn bar: one per stage start, then at most one every plainEvery.
func TestSyncBarPlainWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := newSyncBar(&buf)
	if !b.plain {
		t.Fatal("a bytes.Buffer is not a terminal, but the bar is not plain")
	}
	for i := 0; i <= 5000; i++ {
		b.update(syncer.Progress{Connection: "demo", Stage: "issues", Done: i, Total: 5000})
	}
	b.update(syncer.Progress{Connection: "demo", Stage: "attachments", Done: 1})
	b.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// Start and end of the issues stage, start of the attachments stage.
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], "5000/5000") {
		t.Errorf("the issues stage does not end with its final count:\n%s", buf.String())
	}
	if !strings.Contains(lines[0], "demo issues") || !strings.Contains(lines[0], "/5000") || strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("unexpected output:\n%q", buf.String())
	}
}

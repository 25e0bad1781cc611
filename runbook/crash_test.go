package runbook_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// TestCrashHelper is the daemon that TestSIGKILLDuringWriteBack kills: it
// is not a test on its own and returns at once unless started by it.
func TestCrashHelper(t *testing.T) {
	if os.Getenv("RB_CRASH_HELPER") != "1" {
		return
	}
	ctx := context.Background()
	db, err := store.Open(os.Getenv("RB_DB"))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := connector.New(connector.Options{Name: "sim", BaseURL: os.Getenv("RB_SIM_URL"), MaxRetries: -1, RequestsPerSecond: 1000,
		Auth: connector.APITokenAuth(os.Getenv("RB_SIM_EMAIL"), os.Getenv("RB_SIM_TOKEN"))})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := classify.New(classify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := runbook.New(runbook.Options{Store: db, Audit: audit.New(db), Classifier: cls, Jira: map[string]runbook.Jira{"sim": jc},
		PollInterval: 10 * time.Millisecond, Lease: 300 * time.Millisecond, Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)
	key := os.Getenv("RB_KEY")
	res, err := svc.Ingest(ctx, "sim", runbook.Ticket{Source: "jira", IssueKey: key, Summary: pwSummary, Description: pwDesc, ReporterEmail: reporter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Decide(ctx, res.Run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	reported := false
	for {
		r, err := svc.Get(ctx, res.Run.ID)
		if err == nil && r.WriteBack != nil && r.WriteBack.Attempts >= 2 && !reported {
			fmt.Printf("RUN %d\n", r.ID)
			os.Stdout.Sync()
			reported = true // keep retrying until killed
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSIGKILLDuringWriteBack: Jira is down (and slow), the daemon is killed
// with SIGKILL while it retries the write-back, Jira recovers, a new daemon
// on the same store file finishes: exactly one comment.
func TestSIGKILLDuringWriteBack(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[3]
	h.ticket(key, pwSummary, pwDesc, reporter) // Jira holds the helper's text, synced
	h.stop()                                   // the harness's own service is not part of this
	if err := h.sim.SetKnobs(jirasim.Knobs{FaultRate: 1, Latency: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	runID := killHelperDuringWriteBack(t, h, key)
	if ours, _ := h.comments(key); len(ours) != 0 {
		t.Fatalf("%d comments while Jira was down", len(ours))
	}
	h.sim.SetKnobs(jirasim.Knobs{})
	h.opts.Notifiers = nil
	h.openStore()
	h.start()
	r := h.waitRun(runID, "write-back after the restart", writtenBack)
	time.Sleep(100 * time.Millisecond)
	if ours, _ := h.comments(key); len(ours) != 1 || r.State != runbook.StateSucceeded {
		t.Fatalf("%d comments, state %s", len(ours), r.State)
	}
	if types := h.auditTypes(key); types["execute"] != 1 || types["writeback"] < 3 {
		t.Fatalf("audit %v", types)
	}
	h.verifyChain()
}

// killHelperDuringWriteBack starts TestCrashHelper as a daemon of its own on
// h's store and simulator, waits until it has retried key's write-back, and
// SIGKILLs it: no deferred work, no clean close, claims left in place. It
// returns the helper's run id.
func killHelperDuringWriteBack(t *testing.T, h *harness, key string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "RB_CRASH_HELPER=1", "RB_DB="+h.dbPath, "RB_SIM_URL="+h.simTS.URL,
		"RB_SIM_EMAIL="+h.sim.AdminEmail(), "RB_SIM_TOKEN="+h.sim.Options().AdminToken, "RB_KEY="+key)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runID := int64(0)
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "RUN "); ok {
			runID, _ = strconv.ParseInt(id, 10, 64)
			break
		}
	}
	deadline.Stop()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if runID == 0 {
		t.Fatal("the helper daemon never reported its run")
	}
	return runID
}

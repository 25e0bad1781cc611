package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCrashHelper is the child process of TestCrashLosesOnlyUncommittedPage:
// it commits page 1, then stops in the middle of page 2's transaction and
// waits to be killed.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv("STORE_CRASH_DB")
	if path == "" {
		return // only meaningful as the child process
	}
	db, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx := context.Background()
	page := func(n int, halt bool) error {
		return db.Tx(ctx, func(tx *Tx) error {
			for i := 0; i < 50; i++ {
				id := fmt.Sprint(n*1000 + i)
				if err := tx.PutIssue(ctx, "c", testIssue(id, "P-"+id)); err != nil {
					return err
				}
			}
			if err := tx.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "issues", Scope: "P", CursorMS: int64(n)}); err != nil {
				return err
			}
			if halt {
				fmt.Println("mid-page")
				select {} // SIGKILL arrives here
			}
			return nil
		})
	}
	if err := page(1, false); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	page(2, true)
}

func TestCrashLosesOnlyUncommittedPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), "STORE_CRASH_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "mid-page" {
			cmd.Process.Kill()
			t.Fatalf("child said %q", l)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child never reached the middle of page 2")
	}
	cmd.Process.Kill() // SIGKILL: no deferred cleanup, no rollback
	cmd.Wait()

	db, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	c, _ := db.Counts(ctx, "c")
	if c.Issues != 50 || c.Comments != 50 || c.Attachments != 50 {
		t.Errorf("after crash: %+v; want exactly page 1 (50 issues with children)", c)
	}
	cp, err := db.Checkpoint(ctx, "c", "issues", "P")
	if err != nil || cp.CursorMS != 1 {
		t.Errorf("checkpoint after crash = %+v, %v; want page 1's", cp, err)
	}
	refs, _ := db.IssueIDs(ctx, "c", "")
	for _, r := range refs {
		if !strings.HasPrefix(r.ID, "1") {
			t.Errorf("issue %s of the uncommitted page survived", r.ID)
		}
	}
	// The store is writable again (no stale lock).
	if err := db.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "issues", Scope: "P", CursorMS: 2}); err != nil {
		t.Errorf("write after crash: %v", err)
	}
}

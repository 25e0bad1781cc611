package soak

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// daemon is one `switchyard serve` subprocess.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// kill sends SIGKILL and reaps the process.
func (d *daemon) kill() {
	d.once.Do(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
	})
}

// startDaemon starts `switchyard serve` on the fixed address and waits until
// it prints that it is serving. Its stderr goes to daemon-N.log.
func (s *Soak) startDaemon(ctx context.Context) error {
	s.dmu.Lock()
	n := s.starts + 1
	s.dmu.Unlock()
	logf, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("daemon-%d.log", n)))
	if err != nil {
		return fmt.Errorf("soak: daemon log: %w", err)
	}
	cmd := exec.Command(s.bin, "serve", "--config", s.cfgPath, "--addr", s.addr)
	cmd.Env = append(os.Environ(), "SWITCHYARD_ADMIN_KEY="+s.key)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("soak: start daemon: %w", err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			fmt.Fprintf(logf, "stdout: %s\n", sc.Text())
			if !signalled && strings.HasPrefix(sc.Text(), "switchyard serving on ") {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		logf.Close()
		close(d.done)
	}()
	s.dmu.Lock()
	s.daemon = d
	s.starts = n
	s.dmu.Unlock()
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	select {
	case <-ready:
		fmt.Fprintf(s.opts.Log, "soak: daemon #%d serving on %s (pid %d)\n", n, s.addr, d.pid())
		return nil
	case <-d.done:
		return fmt.Errorf("soak: daemon #%d exited before serving; see %s", n, logf.Name())
	case <-t.C:
		d.kill()
		return fmt.Errorf("soak: daemon #%d did not start within 60s; see %s", n, logf.Name())
	case <-ctx.Done():
		d.kill()
		return ctx.Err()
	}
}

// stopDaemon stops the daemon for good with SIGTERM (a clean shutdown, so the
// files can be opened), falling back to SIGKILL.
func (s *Soak) stopDaemon() {
	s.dmu.Lock()
	d := s.daemon
	s.daemon = nil
	s.dmu.Unlock()
	if d == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(45 * time.Second):
		d.kill()
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"switchyard/config"
	"switchyard/store"
)

// lockFile is the data directory's owner lock: the one process that writes
// the search index (serve, demo, sync, index rebuild) holds an exclusive
// advisory lock on it, released by the kernel when the process ends, so a
// crashed owner never leaves a stale lock. Its content says who holds it and
// where that process answers read-only commands (search) and sync requests.
const lockFile = "switchyard.lock"

// dataDirOwner is the content of the lock file.
type dataDirOwner struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	// API is the HTTP server's URL (serve, demo), for the message.
	API string `json:"api,omitempty"`
	// Control is the owner's local control endpoint (127.0.0.1) and the
	// token it wants; the file is 0600, like the store next to it.
	Control string `json:"control,omitempty"`
	Token   string `json:"token,omitempty"`
}

func (o dataDirOwner) String() string {
	s := fmt.Sprintf("`switchyard %s` (pid %d, since %s", o.Command, o.PID, o.Since.Local().Format(time.DateTime))
	if o.API != "" {
		s += ", serving on " + o.API
	}
	return s + ")"
}

// errDataDirBusy is matched by lockDataDir's error when another process
// owns the data directory; a *dataDirBusy says who.
var errDataDirBusy = errors.New("data directory in use")

type dataDirBusy struct {
	dir   string
	owner *dataDirOwner // nil when the file could not be read
}

func (e *dataDirBusy) Error() string {
	who := "another switchyard process"
	if e.owner != nil {
		who = e.owner.String()
	}
	return fmt.Sprintf("data directory %s is in use by %s", e.dir, who)
}

func (e *dataDirBusy) Unwrap() error { return errDataDirBusy }

// dataDirLock is a held lock; Close releases it.
type dataDirLock struct {
	f     *os.File
	owner dataDirOwner
}

// lockDataDir takes the data directory's owner lock for command, without
// waiting: a second owner fails at once with a *dataDirBusy. A directory
// where the lock file cannot be created (read-only, missing) is not locked:
// the store's own checks then say what is wrong with it.
func lockDataDir(dir, command string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil
	}
	held, err := flockExclusive(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	if !held {
		f.Close()
		return nil, &dataDirBusy{dir: dir, owner: readOwner(dir)}
	}
	l := &dataDirLock{f: f, owner: dataDirOwner{PID: os.Getpid(), Command: command, Since: time.Now().UTC()}}
	l.publish()
	return l, nil
}

// publish writes the owner record. Failures (a full disk) are ignored: the
// lock itself is what keeps a second owner out.
func (l *dataDirLock) publish() {
	if l == nil {
		return
	}
	b, _ := json.Marshal(l.owner)
	if err := l.f.Truncate(0); err == nil {
		l.f.WriteAt(append(b, '\n'), 0)
	}
}

// Close empties the record and releases the lock.
func (l *dataDirLock) Close() {
	if l == nil {
		return
	}
	l.f.Truncate(0)
	l.f.Close()
}

// readOwner reads who holds the data directory: nil when nobody does (the
// lock is free) or the record cannot be read.
func readOwner(dir string) *dataDirOwner {
	path := filepath.Join(dir, lockFile)
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if free, err := flockFree(f); err != nil || free {
		return nil
	}
	// The owner writes its record right after taking the lock: retry briefly.
	for i := 0; i < 20; i++ {
		b, err := os.ReadFile(path)
		var o dataDirOwner
		if err == nil && strings.TrimSpace(string(b)) != "" && json.Unmarshal(b, &o) == nil {
			return &o
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// ownDataDirStore makes an offline command (index rebuild, classify learn)
// the data directory's owner, creating the directory so that a first run is
// locked too, and opens its store. A running serve, demo or sync makes it
// fail with what to do. Callers close the store, then the lock.
func ownDataDirStore(cfg *config.Config, command string) (*dataDirLock, *store.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("data_dir %q: %w", cfg.DataDir, err)
	}
	lock, err := lockDataDir(cfg.DataDir, command)
	if err != nil {
		if errors.Is(err, errDataDirBusy) {
			return nil, nil, fmt.Errorf("%w: stop it first, then run %s", err, command)
		}
		return nil, nil, err
	}
	db, err := openSyncStore(cfg)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return lock, db, nil
}

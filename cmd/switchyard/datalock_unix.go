//go:build unix

package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// flockExclusive takes an exclusive lock on f without waiting; held is false
// when another open file holds a lock on it.
func flockExclusive(f *os.File) (held bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// flockFree reports whether nobody holds an exclusive lock on f (it takes a
// shared lock and drops it again).
func flockFree(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, unix.Flock(int(f.Fd()), unix.LOCK_UN)
}

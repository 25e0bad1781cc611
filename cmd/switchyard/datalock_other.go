//go:build !unix

package main

import "os"

// Without flock the data directory is not locked; the index's own lock (with
// its timeout) still keeps a second writer out.
func flockExclusive(*os.File) (bool, error) { return true, nil }

func flockFree(*os.File) (bool, error) { return true, nil }

// Command soak runs the whole-system resilience soak (see package soak) and
// prints its summary. It exits 1 when any mismatch was found, 2 on bad flags
// and 3 when the soak could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"switchyard/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: scripts/soak [--duration 1m] [--seed N] [--issues N] [--restarts N] [--keep DIR] [--binary PATH]")
		fmt.Fprintln(stderr, "\nRuns the Jira simulator with faults and continuous changes, the switchyard daemon as a")
		fmt.Fprintln(stderr, "subprocess killed and restarted, concurrent searches, ingests and approvals; then checks")
		fmt.Fprintln(stderr, "store, index, ticket runs, write-backs and the audit chain. Loopback only.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	dur := fs.Duration("duration", time.Minute, "length of the load phase (10s..24h); the final checks come after")
	seed := fs.Int64("seed", 1, "seed of the simulated world and of the load")
	issues := fs.Int("issues", 300, "issues in the generated world (1..100000)")
	restarts := fs.Int("restarts", 3, "times the daemon is SIGKILLed and restarted (1..100)")
	keep := fs.String("keep", "", "work directory to keep (config, data, daemon logs); default a temp dir removed at the end")
	bin := fs.String("binary", "", "switchyard binary to run; default: go build ./cmd/switchyard")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "soak: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *dur < 10*time.Second || *dur > 24*time.Hour:
		fmt.Fprintf(stderr, "soak: --duration %s: must be between 10s and 24h\n", *dur)
		return 2
	case *issues < 1 || *issues > 100000:
		fmt.Fprintf(stderr, "soak: --issues %d: must be between 1 and 100000\n", *issues)
		return 2
	case *restarts < 1 || *restarts > 100:
		fmt.Fprintf(stderr, "soak: --restarts %d: must be between 1 and 100\n", *restarts)
		return 2
	case *seed == 0:
		fmt.Fprintln(stderr, "soak: --seed 0: use a non-zero seed")
		return 2
	}
	s, err := soak.New(ctx, soak.Options{Duration: *dur, Seed: *seed, Issues: *issues, Restarts: *restarts,
		Dir: *keep, Binary: *bin, Log: stderr})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 3
	}
	defer s.Close()
	rep, err := s.Run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 3
	}
	fmt.Fprint(stdout, rep.String())
	if len(rep.Mismatches) > 0 {
		return 1
	}
	return 0
}

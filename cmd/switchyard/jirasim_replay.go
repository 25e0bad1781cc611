package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"

	"switchyard/connector/jirasim"
)

// replayFlags are jirasim's --replay options: recorded responses answer
// first, the generated simulator (or a 404) the rest.
type replayFlags struct {
	dir      *string
	fallback *string
}

func addReplayFlags(fs *flag.FlagSet) *replayFlags {
	return &replayFlags{
		dir:      fs.String("replay", "", "answer from the recorded responses in DIR (a replay.json manifest, or files DIR/METHOD/path.json) where it has them"),
		fallback: fs.String("replay-fallback", "simulator", "with --replay, who answers what DIR has no recording for: simulator | 404"),
	}
}

// load validates the flags and reads the directory (nil without --replay).
func (rf *replayFlags) load() (*jirasim.Replay, error) {
	if *rf.fallback != "simulator" && *rf.fallback != "404" {
		return nil, fmt.Errorf("--replay-fallback %q: must be simulator or 404", *rf.fallback)
	}
	if *rf.dir == "" {
		return nil, nil
	}
	rp, err := jirasim.LoadReplay(*rf.dir)
	if err != nil {
		return nil, fmt.Errorf("--replay %q: %w", *rf.dir, err)
	}
	return rp, nil
}

// handler puts the replay in front of the simulator and says so on stdout.
func (rf *replayFlags) handler(rp *jirasim.Replay, srv *jirasim.Server, base string, stdout io.Writer) http.Handler {
	if rp == nil {
		return srv
	}
	rp.SetBaseURL(base)
	fallback, rest := http.Handler(srv), "the generated simulator"
	if *rf.fallback == "404" {
		fallback, rest = nil, "404"
	}
	fmt.Fprintf(stdout, "Replaying %d recorded responses from %s; the rest: %s. Unrecorded requests: %s/_replay\n", rp.Len(), *rf.dir, rest, base)
	return rp.Handler(fallback)
}

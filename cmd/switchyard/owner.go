package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// syncThroughOwner is `switchyard sync` next to the data directory's owner.
// A serve or demo runs the sync engine: it is asked to sync (it would be the
// one writing anyway). Another sync or an index rebuild is waited for by no
// one: the command says who is busy and fails.
func syncThroughOwner(ctx context.Context, busy *dataDirBusy, names []string, full bool, cfgPath string, stdout io.Writer) error {
	o := busy.owner
	if o == nil || o.Control == "" || (o.Command != "serve" && o.Command != "demo") {
		return fmt.Errorf("%w: it must finish (or be stopped) before another sync can write to the index", busy)
	}
	var reply struct {
		Triggered []string `json:"triggered"`
	}
	if err := callControl(ctx, o, "/v1/sync", controlSyncRequest{Connections: names, Full: full}, &reply); err != nil {
		return fmt.Errorf("%w; asking it to sync failed: %v", busy, err)
	}
	kind := "an incremental"
	if full {
		kind = "a full"
	}
	fmt.Fprintf(stdout, "%s owns the data directory %s, so it runs the sync: asked it for %s sync of %s.\n", o, busy.dir, kind, strings.Join(reply.Triggered, ", "))
	fmt.Fprintf(stdout, "Follow it with `switchyard status --config %s`", cfgPath)
	if o.API != "" {
		fmt.Fprintf(stdout, " or in the console at %s/console", o.API)
	}
	fmt.Fprintln(stdout, ".")
	return nil
}

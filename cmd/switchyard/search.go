package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"switchyard/config"
	"switchyard/index"
	syncer "switchyard/sync"
)

func init() {
	register(command{
		name:    "search",
		summary: "search the synced Jira content as a given user (sees exactly what Jira lets them see)",
		run:     runSearch,
	})
}

// stringList collects a repeatable, comma-separable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "eval" {
		return runSearchEval(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("search", "--config F --as ACCOUNT_ID_OR_EMAIL [--json] [--project K] [--type issue|comment|attachment] QUERY\n       switchyard search --config F --as USER --similar KEY [--size N] [--json]\n       switchyard search eval --config F JUDGMENTS.jsonl", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	as := fs.String("as", "", "search as this Jira user: account id or email (required; an unknown user sees only what 'anyone' may see)")
	asJSON := fs.Bool("json", false, "print JSON (results, facets, total)")
	conn := fs.String("connection", "", "connection to search (default: the first configured)")
	var projects, types, statuses stringList
	fs.Var(&projects, "project", "only these project keys (repeat or comma-separate)")
	fs.Var(&types, "type", "only these document types: issue, comment, attachment")
	fs.Var(&statuses, "status", "only these statuses")
	similar := fs.String("similar", "", "list the issues most similar to this issue KEY (more-like-this) instead of searching")
	var requestTypes stringList
	fs.Var(&requestTypes, "request-type", "only these Jira Service Management request types (names)")
	size := fs.Int("size", 20, "results per page (1..100)")
	from := fs.Int("from", 0, "results to skip (paging)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *as == "" {
		return fmt.Errorf("--as is required: the account id or email of the Jira user to search as")
	}
	if *size < 1 || *size > index.MaxSize {
		return fmt.Errorf("--size %d: must be between 1 and %d", *size, index.MaxSize)
	}
	if *from < 0 {
		return fmt.Errorf("--from %d: must not be negative", *from)
	}
	if *similar != "" && (len(pos) > 0 || len(projects)+len(types)+len(statuses) > 0 || *from != 0) {
		return fmt.Errorf("--similar %s takes no query, --project, --type, --status or --from (it lists similar issues)", *similar)
	}
	for _, t := range types {
		if t != "issue" && t != "comment" && t != "attachment" {
			return fmt.Errorf("--type %q: must be issue, comment or attachment", t)
		}
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	name, err := pickConnection(cfg, *conn)
	if err != nil {
		return err
	}
	req := controlSearchRequest{Connection: name, Query: strings.Join(pos, " "), As: *as,
		Projects: projects, Types: types, Statuses: statuses, RequestTypes: requestTypes, From: *from, Size: *size, Similar: *similar}
	res, err := searchDataDir(ctx, cfg, *cfgPath, req)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"total": res.Total, "hits": res.Hits, "facets": res.Facets, "tookMs": res.Took.Milliseconds()})
	}
	printSearchResult(stdout, res)
	return nil
}

// searchDataDir searches the data directory: through its owner when a
// serve, demo or sync holds it (bleve lets no one else open the index then),
// else by opening the store and the index read-only.
func searchDataDir(ctx context.Context, cfg *config.Config, cfgPath string, req controlSearchRequest) (*index.SearchResult, error) {
	if o := readOwner(cfg.DataDir); o != nil {
		if o.Control == "" {
			return nil, fmt.Errorf("data directory %s is in use by %s, which does not answer searches: try again when it has finished", cfg.DataDir, o)
		}
		var res index.SearchResult
		if err := callControl(ctx, o, "/v1/search", req, &res); err != nil {
			return nil, err
		}
		return &res, nil
	}
	idx, closeAll, err := openSearchIndex(ctx, cfg, cfgPath)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return req.run(ctx, idx)
}

// openSearchIndex opens the store and the index read-only, with the synced
// permission data as the index's source; closeAll closes both. Errors say
// what to run when the index is missing, old or damaged.
func openSearchIndex(ctx context.Context, cfg *config.Config, cfgPath string) (idx *index.Index, closeAll func(), err error) {
	db, err := openSyncStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	path := filepath.Join(cfg.DataDir, indexDir)
	idx, err = openReadOnlyIndex(ctx, path)
	var ve *index.VersionError
	var ce *index.CorruptError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("no search index at %s yet: run `switchyard sync --config %s` (or start `switchyard serve`) first", path, cfgPath)
	case errors.As(err, &ve):
		// Rebuilding is for the processes that sync (they reset the
		// checkpoints too); a search only says what to do.
		return nil, nil, fmt.Errorf("the search index %s was written by another version of switchyard (index format %q; this one needs %q): run `switchyard sync --config %s` (or start `switchyard serve`) to rebuild it with a full sync",
			ve.Path, ve.Found, ve.Want, cfgPath)
	case errors.As(err, &ce):
		return nil, nil, fmt.Errorf("%w: run `switchyard index rebuild --config %s` to rebuild it from the store", err, cfgPath)
	case errors.Is(err, index.ErrLocked):
		return nil, nil, fmt.Errorf("%w: a switchyard process that did not say who it is has the index open; try again when it has finished", err)
	case err != nil:
		return nil, nil, err
	}
	idx.Source = syncer.NewPermissionSource(db)
	return idx, func() { idx.Close(); db.Close() }, nil
}

// openReadOnlyIndex opens the index read-only, giving up when ctx ends
// (SIGINT, SIGTERM) rather than when the lock wait does.
func openReadOnlyIndex(ctx context.Context, path string) (*index.Index, error) {
	type opened struct {
		idx *index.Index
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		idx, err := index.OpenReadOnly(path)
		ch <- opened{idx, err}
	}()
	select {
	case o := <-ch:
		return o.idx, o.err
	case <-ctx.Done():
		go func() { // close it if the open succeeds after all
			if o := <-ch; o.idx != nil {
				o.idx.Close()
			}
		}()
		return nil, fmt.Errorf("interrupted while opening the index %s: %w", path, ctx.Err())
	}
}

// pickConnection returns the named connection, or the first when name is empty.
func pickConnection(cfg *config.Config, name string) (string, error) {
	if len(cfg.Connections) == 0 {
		return "", fmt.Errorf("the configuration has no connections: add one under connections:")
	}
	if name == "" {
		return cfg.Connections[0].Name, nil
	}
	if _, ok := cfg.Connection(name); !ok {
		return "", fmt.Errorf("--connection %q: no such connection", name)
	}
	return name, nil
}

func printSearchResult(w io.Writer, res *index.SearchResult) {
	fmt.Fprintf(w, "%d result(s) in %s\n", res.Total, res.Took.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range res.Hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\n", h.Key, h.Type, truncateRunes(h.Title, 60), h.Status, h.Score)
		if s := strings.TrimSpace(h.Snippet); s != "" {
			fmt.Fprintf(tw, "\t\t  %s\t\t\n", truncateRunes(strings.ReplaceAll(s, "\n", " "), 100))
		}
	}
	tw.Flush()
	for _, facet := range []string{"project", "type", "status", "requesttype"} {
		counts := res.Facets[facet]
		if len(counts) == 0 {
			continue
		}
		parts := make([]string, 0, len(counts))
		for _, c := range counts {
			parts = append(parts, fmt.Sprintf("%s %d", c.Value, c.Count))
		}
		fmt.Fprintf(w, "%s: %s\n", facet, strings.Join(parts, ", "))
	}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

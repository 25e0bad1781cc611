package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	fs := newFlagSet("search", "--config F --as ACCOUNT_ID_OR_EMAIL [--json] [--project K] [--type issue|comment|attachment] QUERY", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	as := fs.String("as", "", "search as this Jira user: account id or email (required; an unknown user sees only what 'anyone' may see)")
	asJSON := fs.Bool("json", false, "print JSON (results, facets, total)")
	conn := fs.String("connection", "", "connection to search (default: the first configured)")
	var projects, types, statuses stringList
	fs.Var(&projects, "project", "only these project keys (repeat or comma-separate)")
	fs.Var(&types, "type", "only these document types: issue, comment, attachment")
	fs.Var(&statuses, "status", "only these statuses")
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
	db, err := openSyncStore(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	idx, err := index.Open(filepath.Join(cfg.DataDir, indexDir))
	if ve := (*index.VersionError)(nil); errors.As(err, &ve) {
		// Rebuilding is for the processes that sync (they reset the
		// checkpoints too); a search only says what to do.
		return fmt.Errorf("the search index %s was written by another version of switchyard (index format %q; this one needs %q): run `switchyard sync --config %s` (or start `switchyard serve`) to rebuild it with a full sync",
			ve.Path, ve.Found, ve.Want, *cfgPath)
	}
	if err != nil {
		return err
	}
	defer idx.Close()
	idx.Source = syncer.NewPermissionSource(db)

	res, err := idx.Search(ctx, index.SearchRequest{
		Connection: name, Query: strings.Join(pos, " "), AsUser: *as,
		Projects: projects, Types: types, Statuses: statuses, RequestTypes: requestTypes, From: *from, Size: *size,
	})
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

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"switchyard"
	"switchyard/index"
)

func init() {
	register(command{
		name:    "index",
		summary: "index rebuild: rebuild the search index from the store (no Jira calls; checkpoints kept)",
		run:     runIndex,
	})
}

const indexRebuildHelp = `Usage: switchyard index rebuild --config FILE

Rebuilds <data_dir>/index.bleve from the store: the store keeps every synced
issue with its comments, attachments and extracted attachment text, which is
all the index is made of. Jira is not called and the sync checkpoints are
kept, so the next sync stays incremental. Use it when the index is damaged
(search, serve's /readyz and the log name the bad file) or was deleted.

The new index is built next to the old one and swapped in when complete; the
old one is searched by no one meanwhile, because serve, demo and sync must be
stopped first (the command refuses while one of them owns the data directory).
`

func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, indexRebuildHelp)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] != "rebuild" {
		return fmt.Errorf("unknown index subcommand %q (want rebuild)", args[0])
	}
	fs := newFlagSet("index rebuild", "--config FILE", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, indexRebuildHelp+"\nFlags:\n"); fs.PrintDefaults() }
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	cfg, err := loadConfigNoArgs("index rebuild", pos, *cfgPath)
	if err != nil {
		return err
	}
	lock, db, err := ownDataDirStore(cfg, "index rebuild")
	if err != nil {
		return err
	}
	defer lock.Close()
	defer db.Close()
	if err := quickCheckStore(ctx, db).err(); err != nil {
		return err
	}

	path := filepath.Join(cfg.DataDir, indexDir)
	removeAsideIndexes(path, syncLogger(cfg.Log, stderr))
	stamp := time.Now().Unix()
	tmp := fmt.Sprintf("%s%s%d", path, rebuildSuffix, stamp)
	idx, err := index.Open(tmp)
	if err != nil {
		return fmt.Errorf("rebuild index: %w", err)
	}
	start := time.Now()
	total := 0
	for _, cc := range cfg.Connections {
		n, comments, attachments := 0, 0, 0
		var page []switchyard.Issue
		flush := func() error {
			if len(page) == 0 {
				return nil
			}
			err := idx.IndexIssues(ctx, cc.Name, page)
			page = page[:0]
			return err
		}
		err := db.ForEachIssue(ctx, cc.Name, "", func(is switchyard.Issue) error {
			n, comments, attachments = n+1, comments+len(is.Comments), attachments+len(is.Attachments)
			if page = append(page, is); len(page) == rebuildPage {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			idx.Close()
			os.RemoveAll(tmp)
			return fmt.Errorf("rebuild index: connection %s: %w (the old index is unchanged)", cc.Name, err)
		}
		fmt.Fprintf(stdout, "%s: indexed %d issues, %d comments, %d attachments from the store\n", cc.Name, n, comments, attachments)
		total += n
	}
	if err := idx.Close(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("rebuild index: %w", err)
	}

	// Swap: the old index goes aside (removed afterwards, or by the next
	// start if this process dies first); a crash between the two renames
	// leaves no index, which the next sync treats as missing (full sync).
	aside := fmt.Sprintf("%s%s%d", path, asideSuffix, stamp)
	if _, err := os.Stat(path); err == nil {
		if err := os.Rename(path, aside); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("rebuild index: move the old index aside: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rebuild index: put the new index in place: %w (it is at %s)", err, tmp)
	}
	os.RemoveAll(aside)
	fmt.Fprintf(stdout, "rebuilt the search index %s from the store %s: %d issues in %s; the sync checkpoints are kept\n",
		path, db.Path(), total, time.Since(start).Round(time.Millisecond))
	return nil
}

// rebuildPage is how many issues index rebuild writes per batch.
const rebuildPage = 200

// rebuildSuffix names an index being built by index rebuild:
// <path>.rebuild-<unix time>; a leftover of an interrupted rebuild is removed.
const rebuildSuffix = ".rebuild-"

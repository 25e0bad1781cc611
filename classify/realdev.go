package classify

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"switchyard"
)

// Target kinds of a labelled action row: whose account the runbook acts on.
const (
	TargetSelf  = "self"  // the reporter
	TargetOther = "other" // someone else, named or not
)

// LoadRowLabels reads a row-label file (row, intent[, target[, sample]]
// separated by tabs, '#' comments, an optional header row) and joins it with
// the text of those rows of the data set at csvPath (columns Document and
// Topic_group, rows counted from 0 as csv.DictReader counts them). The label
// file holds no text, so the data set stays where it is. A row listed in
// reservedPath (when not "") is an error: those rows are kept for an
// independent evaluation and must never be labelled.
func LoadRowLabels(labelsPath, csvPath, reservedPath string) ([]Labelled, error) {
	reserved := map[int]bool{}
	if reservedPath != "" {
		var err error
		if reserved, err = readRowSet(reservedPath); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("open row labels: %w", err)
	}
	defer f.Close()
	type label struct {
		row                  int
		intent, target, note string
		line                 int
	}
	var labels []label
	seen := map[int]int{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		cols := strings.Split(s, "\t")
		if cols[0] == "row" {
			continue // header
		}
		n, err := strconv.Atoi(strings.TrimSpace(cols[0]))
		if err != nil || n < 0 {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: row %q is not a row number", labelsPath, line, cols[0])
		}
		if len(cols) < 2 || strings.TrimSpace(cols[1]) == "" {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: row %d has no intent", labelsPath, line, n)
		}
		if reserved[n] {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: row %d is reserved for the independent evaluation and must not be labelled", labelsPath, line, n)
		}
		if prev, dup := seen[n]; dup {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: row %d is labelled twice (also line %d)", labelsPath, line, n, prev)
		}
		seen[n] = line
		l := label{row: n, intent: strings.TrimSpace(cols[1]), line: line}
		if len(cols) > 2 {
			l.target = strings.TrimSpace(cols[2])
			if l.target == "-" {
				l.target = ""
			}
			if l.target != "" && l.target != TargetSelf && l.target != TargetOther {
				return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: target %q is not self, other or -", labelsPath, line, l.target)
			}
		}
		if len(cols) > 3 {
			l.note = strings.TrimSpace(cols[3])
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", labelsPath, err)
	}
	if len(labels) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: no labelled rows", labelsPath)
	}
	want := map[int]bool{}
	for _, l := range labels {
		want[l.row] = true
	}
	texts, err := readDatasetRows(csvPath, want)
	if err != nil {
		return nil, err
	}
	out := make([]Labelled, 0, len(labels))
	for _, l := range labels {
		text, ok := texts[l.row]
		if !ok {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: row %d is not in %s", labelsPath, l.line, l.row, csvPath)
		}
		lab := Labelled{Text: text, Intent: l.intent, Target: l.target, Row: l.row, Note: l.note}
		if err := checkLabelled(lab); err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: %v", labelsPath, l.line, err)
		}
		out = append(out, lab)
	}
	return out, nil
}

// readRowSet reads a file of row numbers, one a line, '#' comments.
func readRowSet(path string) (map[int]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open reserved rows: %w", err)
	}
	defer f.Close()
	out := map[int]bool{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: %q is not a row number", path, line, s)
		}
		out[n] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// readDatasetRows returns the Document text of the wanted rows.
func readDatasetRows(path string, want map[int]bool) (map[int]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open data set: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: read CSV header: %v", path, err)
	}
	doc := -1
	for i, h := range head {
		if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), "document") {
			doc = i
		}
	}
	if doc < 0 {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: CSV header must name a Document column, got %q", path, head)
	}
	out := make(map[int]string, len(want))
	for n := 0; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: %v", path, err)
		}
		if want[n] && doc < len(rec) {
			out[n] = rec[doc]
		}
	}
	return out, nil
}

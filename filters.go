package switchyard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SyncFilters restrict what a connection syncs. The zero value syncs every
// project, any date, and indexes issues, comments and attachments.
type SyncFilters struct {
	Projects ProjectFilter `yaml:"projects" json:"projects"`
	Created  DateRange     `yaml:"created" json:"created"`
	Updated  DateRange     `yaml:"updated" json:"updated"`
	Index    IndexToggles  `yaml:"index" json:"index"`
}

// ProjectFilter keeps the projects In the list, or all but those NotIn it.
type ProjectFilter struct {
	In    []string `yaml:"in,omitempty" json:"in,omitempty"`
	NotIn []string `yaml:"not_in,omitempty" json:"not_in,omitempty"`
}

// DateRange keeps issues at or after After and before Before; either may be nil.
type DateRange struct {
	After  *Date `yaml:"after,omitempty" json:"after,omitempty"`
	Before *Date `yaml:"before,omitempty" json:"before,omitempty"`
}

// IndexToggles choose what content is downloaded and indexed. Nil means on,
// so that a filter that does not mention them keeps the default.
type IndexToggles struct {
	Issues      *bool `yaml:"issues,omitempty" json:"issues,omitempty"`
	Comments    *bool `yaml:"comments,omitempty" json:"comments,omitempty"`
	Attachments *bool `yaml:"attachments,omitempty" json:"attachments,omitempty"`
}

// IndexIssues, IndexComments and IndexAttachments resolve the toggles' defaults.
func (f SyncFilters) IndexIssues() bool   { return f.Index.Issues == nil || *f.Index.Issues }
func (f SyncFilters) IndexComments() bool { return f.Index.Comments == nil || *f.Index.Comments }
func (f SyncFilters) IndexAttachments() bool {
	return f.Index.Attachments == nil || *f.Index.Attachments
}

// Date is an instant given as YYYY-MM-DD (midnight UTC) or RFC 3339, in YAML
// and JSON alike. A date-only value is written back as a date.
type Date struct {
	time.Time
	DateOnly bool
}

// ParseDate reads YYYY-MM-DD or RFC 3339.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return Date{Time: t, DateOnly: true}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Date{Time: t.UTC()}, nil
	}
	return Date{}, fmt.Errorf("%q is not a date (use YYYY-MM-DD or RFC 3339, e.g. 2024-01-31T00:00:00Z)", clip(s))
}

func (d Date) String() string {
	if d.DateOnly {
		return d.UTC().Format(time.DateOnly)
	}
	return d.UTC().Format(time.RFC3339Nano)
}

// MarshalText and UnmarshalText serve both encoding/json and yaml.v3.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON overrides the promoted time.Time method so dates stay dates.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts only a JSON string.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a date string (use YYYY-MM-DD or RFC 3339)", clip(string(b)))
	}
	return d.UnmarshalText([]byte(s))
}

// projectKeyRe is Jira's default project key syntax.
var projectKeyRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

const maxProjectKeyLen = 255

// ValidProjectKey reports whether key is a Jira project key that may be
// quoted into JQL.
func ValidProjectKey(key string) bool {
	return len(key) <= maxProjectKeyLen && projectKeyRe.MatchString(key)
}

// Validate checks every filter value; the errors name the field and the bad
// value and wrap ErrInvalid.
func (f SyncFilters) Validate() error {
	var errs []error
	for _, l := range []struct {
		name string
		keys []string
	}{{"projects.in", f.Projects.In}, {"projects.not_in", f.Projects.NotIn}} {
		for i, k := range l.keys {
			if ValidProjectKey(k) {
				continue
			}
			field := fmt.Sprintf("%s[%d]", l.name, i)
			hint := "a letter then letters, digits or _, upper case, e.g. ITSM"
			if len(k) > maxProjectKeyLen {
				hint = fmt.Sprintf("at most %d characters", maxProjectKeyLen)
			} else if up := strings.ToUpper(k); up != k && projectKeyRe.MatchString(up) {
				hint = "project keys are upper case: " + up
			}
			errs = append(errs, FieldErrorf(ErrInvalid, field, "%q is not a Jira project key (%s)", clip(k), hint))
		}
	}
	if len(f.Projects.In) > 0 && len(f.Projects.NotIn) > 0 {
		errs = append(errs, FieldErrorf(ErrInvalid, "projects", "set either in or not_in, not both"))
	}
	for _, r := range []struct {
		name string
		r    DateRange
	}{{"created", f.Created}, {"updated", f.Updated}} {
		if r.r.After != nil && r.r.Before != nil && !r.r.After.Before(r.r.Before.Time) {
			errs = append(errs, FieldErrorf(ErrInvalid, r.name, "after %s is not before before %s", r.r.After, r.r.Before))
		}
		for _, d := range []struct {
			name string
			d    *Date
		}{{"after", r.r.After}, {"before", r.r.Before}} {
			if d.d != nil && (d.d.Year() < 1970 || d.d.Year() > 9999) {
				errs = append(errs, FieldErrorf(ErrInvalid, r.name+"."+d.name, "%s is outside 1970..9999", d.d))
			}
		}
	}
	return errors.Join(errs...)
}

// canonicalFilters is the form Hash digests: sorted, de-duplicated keys,
// dates as epoch milliseconds, toggles resolved.
type canonicalFilters struct {
	In          []string `json:"in"`
	NotIn       []string `json:"not_in"`
	CreatedFrom *int64   `json:"created_after"`
	CreatedTo   *int64   `json:"created_before"`
	UpdatedFrom *int64   `json:"updated_after"`
	UpdatedTo   *int64   `json:"updated_before"`
	Issues      bool     `json:"issues"`
	Comments    bool     `json:"comments"`
	Attachments bool     `json:"attachments"`
}

// Hash is a stable SHA-256 (hex) of the filters' meaning: the order of keys,
// duplicates, date spelling and defaulted toggles do not change it. The sync
// stores it to notice that filters changed and a full sync is due.
func (f SyncFilters) Hash() string {
	ms := func(d *Date) *int64 {
		if d == nil {
			return nil
		}
		v := d.UnixMilli()
		return &v
	}
	c := canonicalFilters{
		In: sortedSet(f.Projects.In), NotIn: sortedSet(f.Projects.NotIn),
		CreatedFrom: ms(f.Created.After), CreatedTo: ms(f.Created.Before),
		UpdatedFrom: ms(f.Updated.After), UpdatedTo: ms(f.Updated.Before),
		Issues: f.IndexIssues(), Comments: f.IndexComments(), Attachments: f.IndexAttachments(),
	}
	b, _ := json.Marshal(c) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// JQL is the restriction these filters put on an issue search, "" when there
// is none; callers AND it with their own bounds. Only keys that pass
// ValidProjectKey are written, always double-quoted; dates are epoch
// milliseconds, which JQL reads as UTC whatever the account's time zone. An
// "in" list with no valid key matches nothing rather than everything.
func (f SyncFilters) JQL() string {
	var parts []string
	if len(f.Projects.In) > 0 {
		if keys := validKeys(f.Projects.In); len(keys) > 0 {
			parts = append(parts, "project in ("+keys+")")
		} else {
			parts = append(parts, "project is EMPTY")
		}
	} else if keys := validKeys(f.Projects.NotIn); keys != "" {
		parts = append(parts, "project not in ("+keys+")")
	}
	for _, r := range []struct {
		field string
		r     DateRange
	}{{"created", f.Created}, {"updated", f.Updated}} {
		if r.r.After != nil {
			parts = append(parts, r.field+" >= "+strconv.FormatInt(r.r.After.UnixMilli(), 10))
		}
		if r.r.Before != nil {
			parts = append(parts, r.field+" < "+strconv.FormatInt(r.r.Before.UnixMilli(), 10))
		}
	}
	return strings.Join(parts, " AND ")
}

func validKeys(keys []string) string {
	var quoted []string
	for _, k := range sortedSet(keys) {
		if ValidProjectKey(k) {
			quoted = append(quoted, QuoteJQL(k))
		}
	}
	return strings.Join(quoted, ", ")
}

// QuoteJQL quotes s as a JQL string literal.
func QuoteJQL(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// clip shortens a bad value for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

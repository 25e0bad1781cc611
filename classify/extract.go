package classify

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchyard"
)

// Input is one value a runbook needs, with where it came from.
type Input struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
	// AccountID and DisplayName are set when the value was resolved against
	// the synced directory.
	AccountID   string `json:"account_id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// GroupID is a group's id; Operation says whether the ticket asks to add
	// the user to the group or remove them, from the nearest verb before the
	// group's name ("" when the text has neither).
	GroupID   string `json:"group_id,omitempty"`
	Operation string `json:"operation,omitempty"`
}

// Provenance of extracted values.
const (
	SourceEmailLine        = "text:email_line"
	SourceEmail            = "text:email"
	SourceNameLine         = "text:name_line"
	SourceName             = "text:name"
	SourceDirectoryName    = "directory:name"
	SourceDirectoryGroup   = "directory:group"
	SourceReporterFallback = "reporter_fallback"
	SourceGazetteerSKU     = "gazetteer:sku"
)

var (
	emailRe     = regexp.MustCompile(`(?i)[a-z0-9][a-z0-9._%+'-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`)
	emailLineRe = regexp.MustCompile(`(?im)(?:^|[,;(][ \t]*)[ \t>*-]*(?:e-?mail(?: address)?|work e-?mail|user(?:name)?|upn|login|account)[ \t]*[:=][ \t]*<?([a-z0-9][a-z0-9._%+'-]*@[a-z0-9.-]+\.[a-z]{2,})`)
	// Header lines of quoted e-mail name senders and recipients, not targets.
	headerLineRe = regexp.MustCompile(`(?im)^[ \t>]*(?:from|to|cc|bcc|sent|reply-to|de|von|an|à)[ \t]*:.*$`)
	nameLineRe   = regexp.MustCompile(`(?im)(?:^|[,;.][ \t]*|\b)(?:full name|name|employee name|new hire|new starter|employee|starter)[ \t]*[:=][ \t]*([\p{L}][\p{L}'-]*(?:[ \t]+[\p{L}][\p{L}'-]*){1,3})[ \t]*(?:$|[,;(<])`)
	newHireRe    = regexp.MustCompile(`(?i:candidate|new (?:hire|starter|joiner|employee|colleague|team member|intern|contractor|developer|analyst|engineer|recruit)s?)\b[^\p{Lu}\n]{0,25}?(\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}[\p{Ll}'-]+){1,2})`)
	joiningRe    = regexp.MustCompile(`(\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}[\p{Ll}'-]+){1,2})[ \t]+(?i:(?:is|will be|will)[ \t]+)?(?i:starting|joining|starts|joins|join|start|begins)\b`)
)

// system mailboxes are never the person a runbook acts on.
var systemLocalParts = toSet(`noreply no-reply donotreply do-not-reply helpdesk servicedesk support itsupport it-support jira postmaster mailer-daemon`)

// extractor pulls a ticket's runbook inputs out of its text.
type extractor struct {
	dir Directory
}

// entities is everything extraction found, before an intent picks what it needs.
type entities struct {
	target   *Input
	fallback *Input
	// someoneElse names the words that make the ticket another person's
	// request ("colleague", "her"): the reporter is then no fallback.
	someoneElse string
	name        *Input
	email       *Input
	groups      []Input
	skus        []Input
	// names are the directory names (users and groups) found in the text,
	// masked to slot tokens before classification.
	names []surface
}

// surface is a span of text that names an entity.
type surface struct {
	text, slot string
}

// Slot tokens replace entities before classification, so that "add Tom to
// Payroll Admins" looks like the catalog's "add {person} to {group}".
// Catalog utterances write them as {person}, {group}, {email}, {sku}.
const (
	slotPerson = "zzperson"
	slotGroup  = "zzgroup"
	slotEmail  = "zzemail"
	slotSKU    = "zzsku"
)

var slotRe = regexp.MustCompile(`\{(person|group|email|sku)\}`)

// maskStatic replaces what needs no directory: e-mail addresses, licence
// names, and the catalog's {slot} markers. The result is lower-cased (the
// analyser lower-cases anyway).
func maskStatic(text string) string {
	text = strings.ToLower(text)
	if strings.Contains(text, "{") {
		text = slotRe.ReplaceAllString(text, " zz$1 ")
	}
	if strings.Contains(text, "@") {
		text = emailRe.ReplaceAllString(text, " "+slotEmail+" ")
	}
	for _, s := range skuGazetteer {
		if !s.mayMatch(text) {
			continue
		}
		text = s.re.ReplaceAllStringFunc(text, func(m string) string {
			if strings.Contains(m, "licen") {
				return " " + slotSKU + " licence "
			}
			return " " + slotSKU + " "
		})
	}
	return text
}

// mask replaces the entities extraction found with slot tokens.
func (e entities) mask(text string) string {
	text = strings.ToLower(text)
	// Longest first, so "Finance Team" wins over a group called "Finance".
	names := append([]surface(nil), e.names...)
	sort.Slice(names, func(i, j int) bool { return len(names[i].text) > len(names[j].text) })
	for _, n := range names {
		text = replaceWord(text, strings.ToLower(n.text), " "+n.slot+" ")
	}
	return maskStatic(text)
}

// replaceWord replaces whole-word occurrences of old in s.
func replaceWord(s, old, repl string) string {
	if old == "" {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + len(old)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[j:])
		if (i == 0 || !isNameRune(before)) && (j == len(s) || !isNameRune(after)) {
			b.WriteString(s[:i])
			b.WriteString(repl)
		} else {
			b.WriteString(s[:j])
		}
		s = s[j:]
	}
}

func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-'
}

// capWords are the text's words with their case kept, for name matching.
func capWords(text string) [][]string {
	var lines [][]string
	for _, line := range strings.Split(text, "\n") {
		var ws []string
		for _, f := range strings.FieldsFunc(line, func(r rune) bool {
			return !(unicode.IsLetter(r) || r == '\'' || r == '-' || r == '.')
		}) {
			f = strings.TrimSuffix(strings.TrimSuffix(f, "'s"), "’s") // possessive
			ws = append(ws, strings.Trim(f, ".'-"))
		}
		lines = append(lines, ws)
	}
	return lines
}

// namedUsers returns directory users whose full name appears in the text,
// in order of appearance. A name shared by several users is ambiguous and
// skipped: acting on the wrong namesake is worse than asking.
func (x *extractor) namedUsers(ctx context.Context, text string, e *entities) ([]switchyard.User, error) {
	var out []switchyard.User
	seen := map[string]bool{}
	for _, ws := range capWords(text) {
		for i := range ws {
			if ws[i] == "" || !unicode.IsUpper([]rune(ws[i])[0]) {
				continue
			}
			for n := 3; n >= 2; n-- {
				if i+n > len(ws) {
					continue
				}
				cand := strings.Join(ws[i:i+n], " ")
				us, err := x.dir.UsersByName(ctx, cand)
				if err != nil {
					return nil, err
				}
				if len(us) > 0 {
					e.names = append(e.names, surface{cand, slotPerson})
				}
				if len(us) == 1 && !seen[us[0].AccountID] {
					seen[us[0].AccountID] = true
					out = append(out, us[0])
					break
				}
			}
		}
	}
	return out, nil
}

// groupToken splits text into candidate group-name words, keeping the
// characters group names use (vpn-users, sg_sales.emea).
func groupTokens(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.' || r == '&')
	})
}

// namedGroups returns directory groups named in the text, longest match
// first at each position, in order of appearance.
func (x *extractor) namedGroups(ctx context.Context, text string, e *entities) ([]Input, error) {
	var out []Input
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		ws := groupTokens(line)
		for i := 0; i < len(ws); i++ {
			for n := min(5, len(ws)-i); n >= 1; n-- {
				cand := strings.Trim(strings.Join(ws[i:i+n], " "), ".")
				if n == 1 && (len(cand) < 3 || stopwords[strings.ToLower(cand)]) {
					continue
				}
				gs, err := x.dir.GroupsByName(ctx, cand)
				if err != nil {
					return nil, err
				}
				if len(gs) == 0 {
					continue
				}
				g := gs[0]
				e.names = append(e.names, surface{cand, slotGroup})
				if !seen[g.Name] {
					seen[g.Name] = true
					out = append(out, Input{Name: InputGroup, Value: g.Name, Source: SourceDirectoryGroup, GroupID: g.ID, Operation: groupOperation(text, cand)})
				}
				i += n - 1
				break
			}
		}
	}
	return out, nil
}

// skuEntry is one gazetteer entry: a licence and the wordings that name it.
type skuEntry struct {
	name string
	// hint is a lower-case substring every match contains: a cheap test
	// that spares running the expression on most tickets.
	hint string
	re   *regexp.Regexp
}

func (s skuEntry) mayMatch(lower string) bool { return strings.Contains(lower, s.hint) }

// skuGazetteer lists Microsoft 365 licences by the names people use.
// Ambiguous words (Project) need a qualifier to count.
var skuGazetteer = []skuEntry{
	{"Microsoft 365 E3", "e3", regexp.MustCompile(`(?i)\b(?:m365|microsoft 365|ms 365|office 365|o365)?[ -]?e3\b`)},
	{"Microsoft 365 E5", "e5", regexp.MustCompile(`(?i)\b(?:m365|microsoft 365|ms 365|office 365|o365)?[ -]?e5\b`)},
	{"Office 365 E1", "e1", regexp.MustCompile(`(?i)\b(?:office 365|o365|m365)?[ -]?e1\b`)},
	{"Microsoft 365 F3", "f3", regexp.MustCompile(`(?i)\b(?:m365|microsoft 365|office 365|o365)[ -]?f3\b|\bf3 licen[cs]e`)},
	{"Microsoft 365 Business Premium", "business premium", regexp.MustCompile(`(?i)\bbusiness premium\b`)},
	{"Microsoft 365 Business Standard", "business standard", regexp.MustCompile(`(?i)\bbusiness standard\b`)},
	{"Microsoft 365 Business Basic", "business basic", regexp.MustCompile(`(?i)\bbusiness basic\b`)},
	{"Microsoft 365 Apps for business", "apps for business", regexp.MustCompile(`(?i)\bapps for business\b`)},
	{"Microsoft 365 Apps for enterprise", "apps for enterprise", regexp.MustCompile(`(?i)\bapps for enterprise\b`)},
	{"Visio Plan 2", "visio", regexp.MustCompile(`(?i)\bvisio\b`)},
	{"Project Plan 3", "project", regexp.MustCompile(`(?i)\b(?:ms|microsoft) project\b|\bproject (?:plan ?[135]|online|pro(?:fessional)?|licen[cs]es?)\b`)},
	{"Power BI Pro", "power", regexp.MustCompile(`(?i)\bpower ?bi(?: pro)?\b`)},
	{"Microsoft 365 Copilot", "copilot", regexp.MustCompile(`(?i)\bcopilot\b`)},
	{"Teams Phone Standard", "teams phone", regexp.MustCompile(`(?i)\bteams phone\b`)},
	{"Teams Premium", "teams premium", regexp.MustCompile(`(?i)\bteams premium\b`)},
	{"Exchange Online (Plan 1)", "exchange online", regexp.MustCompile(`(?i)\bexchange online\b`)},
}

// fromSKURe finds "from E3 to E5": the licence after "from" is the one being
// replaced, not the one to assign.
var fromSKURe = regexp.MustCompile(`(?i)\bfrom\s+(?:an?\s+|the\s+|my\s+)?(?:m365\s+|microsoft 365\s+|office 365\s+|o365\s+)?(e[135]|f3|business \w+|visio|power ?bi)\b[^.\n]{0,40}?\bto\b`)

func findSKUs(text string) []Input {
	type at struct {
		pos  int
		name string
	}
	var found []at
	replaced := map[string]bool{}
	if m := fromSKURe.FindStringSubmatch(text); m != nil {
		for _, s := range skuGazetteer {
			if s.re.MatchString(m[1]) {
				replaced[s.name] = true
			}
		}
	}
	lower := strings.ToLower(text)
	for _, s := range skuGazetteer {
		if !s.mayMatch(lower) {
			continue
		}
		if loc := s.re.FindStringIndex(text); loc != nil && !replaced[s.name] {
			found = append(found, at{loc[0], s.name})
		}
	}
	// order of appearance
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].pos < found[j-1].pos; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	out := make([]Input, 0, len(found))
	for _, f := range found {
		out = append(out, Input{Name: InputLicenseSKU, Value: f.name, Source: SourceGazetteerSKU})
	}
	return out
}

func appendUnique(s []string, v string) []string {
	if contains(s, v) {
		return s
	}
	return append(s, v)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func firstNot(s []string, not string) string {
	for _, x := range s {
		if x != not {
			return x
		}
	}
	return ""
}

var (
	removeVerbRe = regexp.MustCompile(`(?i)\b(?:remove|removed|take (?:\w+ )?(?:off|out)|revoke|delete|drop|off of|out of|no longer|shouldn'?t be|should not be|leave|unsubscribe)\b`)
	addVerbRe    = regexp.MustCompile(`(?i)\b(?:add|added|adding|include|put|grant|join|member|membership|access to|need to be in|be in|get added)\b`)
)

// groupOperation reads the verb nearest before a group's first mention:
// "remove me from X" is remove, "add me to X" is add.
func groupOperation(text, name string) string {
	i := strings.Index(strings.ToLower(text), strings.ToLower(name))
	if i < 0 {
		return ""
	}
	before := text[:i]
	if len(before) > 80 {
		before = before[len(before)-80:]
	}
	last := func(re *regexp.Regexp) int {
		locs := re.FindAllStringIndex(before, -1)
		if len(locs) == 0 {
			return -1
		}
		return locs[len(locs)-1][0]
	}
	r, a := last(removeVerbRe), last(addVerbRe)
	switch {
	case r < 0 && a < 0:
		return ""
	case r > a:
		return "remove"
	default:
		return "add"
	}
}

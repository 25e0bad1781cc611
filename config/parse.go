package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"switchyard"
)

const (
	// maxFileBytes bounds the file; real configurations are a few KiB.
	maxFileBytes = 1 << 20
	// maxVisits bounds the walk over the document, aliases included, so a
	// "billion laughs" file fails fast instead of exhausting memory.
	maxVisits = 100_000
)

// Load reads and parses the configuration file at path, expanding ${VAR}
// from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, os.Getenv)
	if err != nil {
		if n := countErrors(err); n > 1 {
			return nil, fmt.Errorf("config %s: %d problems:\n%w", path, n, err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

func countErrors(err error) int {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return len(j.Unwrap())
	}
	return 1
}

// Parse reads a configuration: ${VAR} and ${VAR:-default} are expanded in
// values with getenv, unknown keys and values of the wrong type are errors,
// defaults fill what is left out, and the result is validated. All problems
// found are reported together; each names its key path and line.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("config is %d bytes; the limit is %d", len(data), maxFileBytes)
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	data, env := protect(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("config is not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, errors.New("config holds more than one YAML document (remove the extra ---)")
	}
	cfg := Default()
	p := &parser{getenv: getenv, env: env, lines: map[string]int{}}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root != nil && !isNull(root) {
		if root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("config must be a mapping of keys (line %d), not %s", root.Line, describe(root))
		}
		p.expand(root, "")
		p.check(root, reflect.TypeOf(Config{}), "")
		if len(p.errs) > 0 {
			return nil, errors.Join(p.errs...)
		}
		if err := root.Decode(cfg); err != nil {
			// check() has already accepted every value, so this is unexpected;
			// the message is yaml's own and may quote a value, hence generic.
			return nil, errors.New("config could not be decoded after validation; check value types")
		}
	}
	cfg.applyDerivedDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, p.withLines(err)
	}
	return cfg, nil
}

type expansion struct{ path, value, ref string }

type parser struct {
	getenv func(string) string
	env    *envRefs
	// expanded remembers values that came from the environment, so that
	// messages name the variable instead of quoting its value.
	expanded     map[*yaml.Node]string // node → original text, e.g. "${JIRA_TOKEN}"
	expandedVals []expansion
	lines        map[string]int // key path → line, for messages
	errs         []error
	visits       int
}

func (p *parser) errorf(path string, line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg += fmt.Sprintf(" (line %d)", line)
	}
	p.errs = append(p.errs, switchyard.FieldErrorf(switchyard.ErrInvalid, path, "%s", msg))
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envRefs stands in for the ${...} references of the file while YAML
// parses it. In flow style ({token: ${X}}) braces are YAML syntax, so the
// references are replaced by plain placeholders first and expanded in the
// parsed values afterwards; an environment value is therefore never parsed
// as YAML.
type envRefs struct {
	prefix string
	refs   []string // original text: "${NAME}", "${NAME:-x}" or "$${"
	re     *regexp.Regexp
}

var envRefRe = regexp.MustCompile(`\$\$\{|\$\{[^}\n]*\}`)

func protect(data []byte) ([]byte, *envRefs) {
	e := &envRefs{prefix: "__swyenv"}
	for bytes.Contains(data, []byte(e.prefix)) {
		e.prefix += "x"
	}
	e.re = regexp.MustCompile(regexp.QuoteMeta(e.prefix) + `([0-9]+)__`)
	out := envRefRe.ReplaceAllFunc(data, func(m []byte) []byte {
		e.refs = append(e.refs, string(m))
		return []byte(e.prefix + strconv.Itoa(len(e.refs)-1) + "__")
	})
	return out, e
}

// restore puts the original reference text back (for keys and messages).
func (e *envRefs) restore(s string) string {
	return e.re.ReplaceAllStringFunc(s, func(m string) string {
		i, _ := strconv.Atoi(e.re.FindStringSubmatch(m)[1])
		return e.refs[i]
	})
}

// expandValue expands every reference in a parsed value.
func (e *envRefs) expandValue(s string, getenv func(string) string) (string, bool, error) {
	locs := e.re.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		if strings.Contains(s, "${") {
			return "", false, errors.New("unterminated ${ (write $${ for a literal ${)")
		}
		return s, false, nil
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		lit := s[last:l[0]]
		if strings.Contains(lit, "${") {
			return "", false, errors.New("unterminated ${ (write $${ for a literal ${)")
		}
		b.WriteString(lit)
		i, _ := strconv.Atoi(s[l[2]:l[3]])
		v, err := expandRef(e.refs[i], getenv)
		if err != nil {
			return "", false, err
		}
		b.WriteString(v)
		last = l[1]
	}
	if strings.Contains(s[last:], "${") {
		return "", false, errors.New("unterminated ${ (write $${ for a literal ${)")
	}
	b.WriteString(s[last:])
	return b.String(), true, nil
}

// expand replaces ${VAR} references in every scalar value (keys only get
// their text back). It does not follow aliases: the anchored node is
// expanded where it stands.
func (p *parser) expand(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			k.Value = p.env.restore(k.Value)
			p.expand(n.Content[i+1], joinPath(path, k.Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.expand(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		v, changed, err := p.env.expandValue(n.Value, p.getenv)
		if err != nil {
			p.errorf(path, n.Line, "%v", err)
			n.Value = ""
			return
		}
		if !changed {
			return
		}
		if p.expanded == nil {
			p.expanded = map[*yaml.Node]string{}
		}
		ref := p.env.restore(n.Value)
		p.expanded[n] = ref
		p.expandedVals = append(p.expandedVals, expansion{path: path, value: v, ref: ref})
		n.Value = v
		// Let the expanded text resolve to its own type (10 → int), as if
		// it had been written in place, but never to null: an empty or
		// "null" value from the environment stays a string.
		n.Tag = ""
		n.Style &^= yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
		if n.ShortTag() == "!!null" {
			n.Tag = "!!str"
		}
	}
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandRef expands one reference: ${VAR}, ${VAR:-default}, or $${ (a
// literal ${). A variable that is unset or empty without a default is an
// error that names it; values never appear in errors.
func expandRef(ref string, getenv func(string) string) (string, error) {
	if ref == "$${" {
		return "${", nil
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(ref, "${"), "}")
	name, def, hasDef := strings.Cut(inner, ":-")
	if !envNameRe.MatchString(name) {
		return "", fmt.Errorf("%s is not a valid variable reference (use ${NAME} or ${NAME:-default})", clip(ref))
	}
	if v := getenv(name); v != "" {
		return v, nil
	}
	if !hasDef {
		return "", fmt.Errorf("environment variable %s is not set (or use ${%s:-default})", name, name)
	}
	return def, nil
}

var (
	durationType        = reflect.TypeOf(time.Duration(0))
	secretType          = reflect.TypeOf(Secret(""))
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

// check walks the document against the Go type it decodes into: unknown
// keys and values of the wrong type become errors naming the key path and
// line, and the line of every key is remembered for later messages.
func (p *parser) check(n *yaml.Node, t reflect.Type, path string) {
	p.visits++
	if p.visits > maxVisits {
		if p.visits == maxVisits+1 {
			p.errorf(path, n.Line, "config is too large once aliases are expanded")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isNull(n) {
		return
	}
	if isLeaf(t) {
		p.checkLeaf(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.errorf(path, n.Line, "expected a mapping of keys, got %s", describe(n))
			return
		}
		fields := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				p.checkMerge(v, t, path)
				continue
			}
			sub := joinPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				p.errorf(sub, 0, "is given twice (lines %d and %d)", first, k.Line)
				continue
			}
			seen[k.Value] = k.Line
			f, ok := fields[k.Value]
			if !ok || k.Kind != yaml.ScalarNode {
				p.errorf(sub, k.Line, "unknown key; known keys here: %s", knownKeys(fields))
				continue
			}
			p.lines[sub] = k.Line
			p.check(v, f, sub)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.errorf(path, n.Line, "expected a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			sub := fmt.Sprintf("%s[%d]", path, i)
			p.lines[sub] = c.Line
			p.check(c, t.Elem(), sub)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.errorf(path, n.Line, "expected a mapping, got %s", describe(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" || strings.TrimSpace(k.Value) == "" {
				p.errorf(path, k.Line, "keys must be non-empty single values")
				continue
			}
			sub := joinPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				p.errorf(sub, 0, "is given twice (lines %d and %d)", first, k.Line)
				continue
			}
			seen[k.Value] = k.Line
			p.lines[sub] = k.Line
			p.check(v, t.Elem(), sub)
		}
	default:
		p.errorf(path, n.Line, "cannot be configured")
	}
}

// checkMerge handles YAML merge keys (<<: *anchor or a list of them).
func (p *parser) checkMerge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			p.check(c, t, path)
		}
		return
	}
	p.check(v, t, path)
}

func isLeaf(t reflect.Type) bool {
	if t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func leafWant(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 90s, 60m or 24h"
	case t == secretType:
		return "a string"
	case t == reflect.TypeOf(ByteSize(0)):
		return "a size such as 1048576 or 25MiB"
	case t == reflect.TypeOf(switchyard.Date{}):
		return "a date (YYYY-MM-DD or RFC 3339)"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a whole number"
}

func (p *parser) checkLeaf(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(path, n.Line, "expected %s, got %s", leafWant(t), describe(n))
		return
	}
	// Never quote what is in a secret.
	if t == secretType {
		return
	}
	shown := strconv.Quote(clip(n.Value))
	if ref, ok := p.expanded[n]; ok {
		// It came from the environment, where it may be a secret.
		shown = "the value of " + ref
	}
	if t == durationType {
		if n.Value == "0" {
			// yaml.v3 refuses a bare integer for a duration; 0 is unambiguous.
			n.Value, n.Tag, n.Style = "0s", "!!str", 0
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			p.errorf(path, n.Line, "%s is not %s", shown, leafWant(t))
		}
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		v := reflect.New(t).Interface().(encoding.TextUnmarshaler)
		if err := v.UnmarshalText([]byte(n.Value)); err != nil {
			if _, ok := p.expanded[n]; ok {
				p.errorf(path, n.Line, "%s is not %s", shown, leafWant(t))
			} else {
				p.errorf(path, n.Line, "%v", err)
			}
		}
		return
	}
	if t.Kind() == reflect.String {
		return // yaml.v3 gives any scalar's text to a string
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		p.errorf(path, n.Line, "%s is not %s", shown, leafWant(t))
	}
}

// yamlFields maps the yaml key of each exported field to its type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func knownKeys(fields map[string]reflect.Type) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// withLines appends the line of the key each validation error names, or of
// its nearest parent present in the file.
func (p *parser) withLines(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var fe *switchyard.Error
		if !errors.As(e, &fe) || fe.Field == "" {
			out = append(out, e)
			continue
		}
		msg := p.hideExpanded(fe.Field, fe.Message)
		if line := p.lineOf(fe.Field); line > 0 {
			msg += " (line " + strconv.Itoa(line) + ")"
		}
		out = append(out, &switchyard.Error{Kind: fe.Kind, Field: fe.Field, Message: msg})
	}
	return errors.Join(out...)
}

// hideExpanded replaces values that came from the environment with the
// reference that produced them: the value of the key the message is about
// when quoted, and any longer value anywhere, whatever key it reached.
func (p *parser) hideExpanded(field, msg string) string {
	for _, x := range p.expandedVals {
		if x.path == field && x.value != "" {
			msg = strings.ReplaceAll(msg, strconv.Quote(clip(x.value)), "the value of "+x.ref)
		}
	}
	for _, x := range p.expandedVals {
		if len(x.value) >= 8 {
			msg = strings.ReplaceAll(msg, x.value, x.ref)
			msg = strings.ReplaceAll(msg, clip(x.value), x.ref)
		}
	}
	return msg
}

func (p *parser) lineOf(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

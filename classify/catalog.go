package classify

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"switchyard"
)

// NoAction is the intent of every ticket no runbook should act on.
const NoAction = "no_action"

// Inputs a runbook may require. Extraction knows how to find each of them.
const (
	InputTargetUser = "target_user"
	InputName       = "name"
	InputEmail      = "email"
	InputGroup      = "group"
	InputLicenseSKU = "license_sku"
)

var knownInputs = map[string]bool{
	InputTargetUser: true, InputName: true, InputEmail: true, InputGroup: true, InputLicenseSKU: true,
}

//go:embed catalog.yaml
var defaultCatalogYAML []byte

// Catalog is the set of runbook intents a ticket can be classified into, with
// the labelled examples the classifier starts from.
type Catalog struct {
	Version int `yaml:"version"`
	// MinMargin is how far the best intent's confidence must lead the second
	// one; closer than this and the classifier abstains (low_confidence).
	MinMargin float64 `yaml:"min_margin"`
	// Calibration maps the vote share to the probability of being right,
	// fitted on real tickets (switchyard classify eval --kfold prints one);
	// thresholds apply to the calibrated confidence.
	Calibration Calibration `yaml:"calibration"`
	Intents     []Intent    `yaml:"intents"`
	NoAction    struct {
		Examples []string `yaml:"examples"`
	} `yaml:"no_action"`
}

// Intent is one runbook the classifier may suggest.
type Intent struct {
	ID             string   `yaml:"id" json:"id"`
	Runbook        string   `yaml:"runbook" json:"runbook"`
	Name           string   `yaml:"name" json:"name"`
	TargetSystem   string   `yaml:"target_system" json:"target_system"`
	RequiredInputs []string `yaml:"required_inputs" json:"required_inputs"`
	// ReporterFallback allows the reporter to stand in as target_user when the
	// ticket names nobody. Off for runbooks where acting on the reporter by
	// mistake would hurt (offboarding).
	ReporterFallback bool     `yaml:"reporter_fallback" json:"reporter_fallback"`
	Threshold        float64  `yaml:"threshold" json:"threshold"`
	Phrases          []string `yaml:"phrases" json:"phrases,omitempty"`
	Examples         []string `yaml:"examples" json:"-"`
}

// DefaultCatalog returns the catalog shipped with Switchyard.
func DefaultCatalog() (*Catalog, error) {
	return ParseCatalog(defaultCatalogYAML, "default catalog")
}

// LoadCatalog reads and validates the catalog file at path.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return ParseCatalog(b, path)
}

// ParseCatalog decodes YAML (unknown keys are errors, so typos do not silently
// drop settings) and validates the result. name labels error messages.
func ParseCatalog(b []byte, name string) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "catalog %s: %v", name, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", name, err)
	}
	return &c, nil
}

var (
	intentIDRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	runbookRe  = regexp.MustCompile(`^[A-Z]+-[0-9]+$`)
)

// Validate checks the catalog; errors name the intent and the field.
func (c *Catalog) Validate() error {
	if c.Version != 1 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "version", "must be 1, got %d", c.Version)
	}
	if c.MinMargin < 0 || c.MinMargin >= 1 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "min_margin", "must be in [0,1), got %v", c.MinMargin)
	}
	if err := c.Calibration.validate(); err != nil {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "calibration", "%v", err)
	}
	if len(c.Intents) == 0 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "intents", "at least one intent is required")
	}
	seen := map[string]bool{}
	for i, in := range c.Intents {
		label := fmt.Sprintf("intents[%d]", i)
		if in.ID != "" {
			label = fmt.Sprintf("intent %q", in.ID)
		}
		ferr := func(field, format string, args ...any) error {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, label+" field "+field, format, args...)
		}
		switch {
		case in.ID == "":
			return ferr("id", "is required")
		case !intentIDRe.MatchString(in.ID):
			return ferr("id", "must be lower_snake_case, got %q", in.ID)
		case in.ID == NoAction:
			return ferr("id", "%q is reserved; put its examples under no_action", NoAction)
		case seen[in.ID]:
			return ferr("id", "duplicate intent id")
		case in.Runbook == "":
			return ferr("runbook", "is required")
		case !runbookRe.MatchString(in.Runbook):
			return ferr("runbook", "must look like RB-001, got %q", in.Runbook)
		case strings.TrimSpace(in.Name) == "":
			return ferr("name", "is required")
		case strings.TrimSpace(in.TargetSystem) == "":
			return ferr("target_system", "is required")
		case in.Threshold <= 0 || in.Threshold > 1:
			return ferr("threshold", "must be in (0,1], got %v", in.Threshold)
		case len(in.Examples) < 3:
			return ferr("examples", "needs at least 3 example utterances, got %d", len(in.Examples))
		}
		seen[in.ID] = true
		for _, r := range in.RequiredInputs {
			if !knownInputs[r] {
				return ferr("required_inputs", "unknown input %q (known: target_user, name, email, group, license_sku)", r)
			}
		}
		for j, e := range in.Examples {
			if strings.TrimSpace(e) == "" {
				return ferr(fmt.Sprintf("examples[%d]", j), "is empty")
			}
		}
		for j, p := range in.Phrases {
			if len(tokenize(p)) == 0 {
				return ferr(fmt.Sprintf("phrases[%d]", j), "has no words: %q", p)
			}
		}
	}
	for j, e := range c.NoAction.Examples {
		if strings.TrimSpace(e) == "" {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, fmt.Sprintf("no_action field examples[%d]", j), "is empty")
		}
	}
	return nil
}

// Intent returns the intent with the given id.
func (c *Catalog) Intent(id string) (Intent, bool) {
	for _, in := range c.Intents {
		if in.ID == id {
			return in, true
		}
	}
	return Intent{}, false
}

package classify

import (
	"regexp"
	"strings"
	"unicode"

	"switchyard"
)

// SourceAgent marks an input an agent supplied to a needs_input run.
const SourceAgent = "agent"

var wholeEmailRe = regexp.MustCompile(`(?i)^[a-z0-9][a-z0-9._%+'-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$`)

// SuppliedInput checks a value an agent supplies for a runbook input and
// returns it as an Input with source agent. Errors are ErrInvalid naming the
// input and the value.
func SuppliedInput(name, value string) (Input, error) {
	v := strings.TrimSpace(value)
	if !knownInputs[name] {
		return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs", "unknown input %q (known: target_user, name, email, group, license_sku)", truncateRunes(name, 40))
	}
	if v == "" {
		return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+name, "is empty")
	}
	if len(v) > 256 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+name, "%q is not a valid value (at most 256 printable characters)", truncateRunes(v, 40))
	}
	in := Input{Name: name, Value: v, Source: SourceAgent}
	switch name {
	case InputTargetUser, InputEmail:
		if !wholeEmailRe.MatchString(v) {
			return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+name, "%q is not an e-mail address", truncateRunes(v, 60))
		}
		in.Value = strings.ToLower(v)
	case InputName:
		if len(strings.Fields(v)) < 2 {
			return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+name, "%q is not a full name (first and last)", truncateRunes(v, 60))
		}
	case InputLicenseSKU:
		skus := findSKUs(v)
		if len(skus) != 1 {
			return Input{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+name, "%q names no single known licence (e.g. E3, E5, Visio, Power BI Pro)", truncateRunes(v, 60))
		}
		in.Value = skus[0].Value
	}
	return in, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

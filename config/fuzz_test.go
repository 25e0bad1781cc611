package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse: it must not panic, what it
// accepts must validate, and no error may reveal the secret the environment holds.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/full.yaml", "example.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(valid))
	const secret = "fuzz-SECRET-value"
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, func(k string) string {
			if strings.HasPrefix(k, "E") {
				return ""
			}
			return secret
		})
		if err != nil {
			if strings.Contains(err.Error(), secret) && !strings.Contains(string(data), secret) {
				t.Fatalf("error reveals the environment's secret: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}

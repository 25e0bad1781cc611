package jirasim

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// updateGolden reads the package's -update flag (declared once, in another
// test file of this package: go test -update rewrites golden files).
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestADFRendering renders every ADF node and mark the generator uses to wiki
// markup and HTML and compares with golden files (go test -update to rewrite).
func TestADFRendering(t *testing.T) {
	doc := []byte(`{"type":"doc","version":1,"content":[
	{"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"VPN outage"}]},
	{"type":"paragraph","content":[
		{"type":"text","text":"Bold","marks":[{"type":"strong"}]},{"type":"text","text":" "},
		{"type":"text","text":"italic","marks":[{"type":"em"}]},{"type":"text","text":" "},
		{"type":"text","text":"code","marks":[{"type":"code"}]},{"type":"text","text":" "},
		{"type":"text","text":"gone","marks":[{"type":"strike"}]},{"type":"text","text":" "},
		{"type":"text","text":"runbook","marks":[{"type":"link","attrs":{"href":"https://wiki.example.com/vpn"}}]},
		{"type":"hardBreak"},
		{"type":"mention","attrs":{"id":"abc123","text":"@Sarah Chen"}},{"type":"text","text":" "},
		{"type":"emoji","attrs":{"shortName":":warning:","text":"⚠️"}},{"type":"text","text":" "},
		{"type":"date","attrs":{"timestamp":"1700000000000"}},{"type":"text","text":" "},
		{"type":"status","attrs":{"text":"IN PROGRESS","color":"blue"}},{"type":"text","text":" "},
		{"type":"inlineCard","attrs":{"url":"https://status.example.com"}}]},
	{"type":"bulletList","content":[
		{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"one"}]},
			{"type":"orderedList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"nested"}]}]}]}]},
		{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"two <b>"}]}]}]},
	{"type":"codeBlock","attrs":{"language":"bash"},"content":[{"type":"text","text":"sudo systemctl restart openvpn"}]},
	{"type":"panel","attrs":{"panelType":"warning"},"content":[{"type":"paragraph","content":[{"type":"text","text":"Careful"}]}]},
	{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"quoted"}]}]},
	{"type":"table","content":[
		{"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Host"}]}]},{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"State"}]}]}]},
		{"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"vpn-1"}]}]},{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"down"}]}]}]}]},
	{"type":"rule"},
	{"type":"mediaSingle","content":[{"type":"media","attrs":{"id":"m-1","type":"file","alt":"screenshot.png"}}]},
	{"type":"unknownBlock","content":[{"type":"text","text":"kept text"}]}
	]}`)
	for _, tc := range []struct {
		name string
		got  string
	}{
		{"adf.wiki", adfToWiki(doc)},
		{"adf.html", adfToHTML(doc)},
	} {
		path := filepath.Join("testdata", tc.name)
		if updateGolden() {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if tc.got != string(want) {
			t.Errorf("%s differs from %s:\n%s", tc.name, path, tc.got)
		}
	}
	if got := adfToWiki([]byte(`"already text"`)); got != "already text" {
		t.Errorf("string body: %q", got)
	}
	if got := adfToHTML([]byte(`not json`)); got != "" {
		t.Errorf("bad ADF html: %q", got)
	}
}

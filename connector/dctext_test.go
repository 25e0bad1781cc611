package connector_test

import (
	"context"
	"strings"
	"testing"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// TestDataCenterCommentOneTextForm: on Data Center a comment embedded in an
// issue (wiki source in fields, HTML in renderedFields) and the same comment
// paged through /comment (renderedBody) must come out as the same Markdown.
func TestDataCenterCommentOneTextForm(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 5, Projects: 2, Issues: 40, Mode: switchyard.ModeDataCenter}})
	st := s.state(t)
	c := s.client(t, func(o *connector.Options) { o.CustomFields = customFields(st) })
	ctx := context.Background()
	compared, marked := 0, 0
	for _, w := range st.Issues {
		if len(w.Comments) == 0 {
			continue
		}
		is, err := c.Issue(ctx, w.Key)
		if err != nil {
			t.Fatal(err)
		}
		paged := map[string]string{}
		if err := c.Comments(ctx, w.Key, func(cs []switchyard.Comment) error {
			for _, cm := range cs {
				paged[cm.ID] = cm.Body
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, cm := range is.Comments {
			want, ok := paged[cm.ID]
			if !ok {
				t.Fatalf("%s comment %s embedded but not paged", w.Key, cm.ID)
			}
			compared++
			if strings.ContainsAny(want, "*_[`#") {
				marked++
			}
			if cm.Body != want {
				t.Errorf("%s comment %s: embedded body\n%q\nbut paged body\n%q", w.Key, cm.ID, cm.Body, want)
			}
		}
	}
	if compared == 0 || marked == 0 {
		t.Fatalf("compared %d comments, %d with markup: the world has nothing to compare", compared, marked)
	}
	t.Logf("%d comments compared, %d with markup", compared, marked)
}

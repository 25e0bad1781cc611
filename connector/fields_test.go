package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"switchyard"
)

// Content a sync filter excludes must never be downloaded: the field list sent
// to bulkfetch leaves it out, while everything else is still asked for.
func TestBulkFetchWithoutFields(t *testing.T) {
	var asked [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Fields []string `json:"fields"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode: %v", err)
		}
		asked = append(asked, body.Fields)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issues":[],"issueErrors":[]}`))
	}))
	defer srv.Close()
	c, err := New(Options{Name: "t", Mode: switchyard.ModeCloud, BaseURL: srv.URL, Auth: APITokenAuth("a@b.c", "tok"), RequestsPerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.BulkFetch(ctx, []string{"10001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BulkFetch(ctx, []string{"10001"}, WithoutFields("comment", "attachment")); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 {
		t.Fatalf("%d requests, want 2", len(asked))
	}
	if !slices.Contains(asked[0], "comment") || !slices.Contains(asked[0], "attachment") {
		t.Fatalf("default field list lacks comment/attachment: %v", asked[0])
	}
	if slices.Contains(asked[1], "comment") || slices.Contains(asked[1], "attachment") {
		t.Fatalf("excluded fields still requested: %v", asked[1])
	}
	if !slices.Contains(asked[1], "summary") || len(asked[1]) != len(asked[0])-2 {
		t.Fatalf("WithoutFields dropped more than it was told: %v vs %v", asked[1], asked[0])
	}
}

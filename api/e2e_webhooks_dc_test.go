package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

// TestE2EDataCenterWebhooks runs the real pieces against a Data Center
// simulator whose comment webhooks have the Jira Server shape (no issue
// object, the issue only in comment.self, users by key and name): a comment
// made in Jira reaches the store through the receiver without a sync, and
// the integration's own comment is recognised by its user key and ignored.
func TestE2EDataCenterWebhooks(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 2, Issues: 30, Mode: switchyard.ModeDataCenter}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	t.Cleanup(func() { hs.Close(); sim.Close() })
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	idx.Source = syncer.NewPermissionSource(db)
	const conn = "dc"
	jira, err := syncer.NewJiraBuilder(func(fields []string) (syncer.JiraClient, error) {
		return connector.New(connector.Options{Name: conn, Mode: switchyard.ModeDataCenter, BaseURL: hs.URL,
			Auth: connector.PATAuth(jirasim.DefaultAdminToken), RequestsPerSecond: 10000, Concurrency: 4, CustomFields: fields})
	}, 4)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := syncer.New(syncer.Options{Store: syncer.NewStore(db), Index: syncer.NewIndex(idx), Connections: []syncer.Connection{{
		Name: conn, Mode: switchyard.ModeDataCenter, BaseURL: hs.URL, Jira: jira, Scope: mustScope(t),
		Settings: syncer.Settings{Strategy: "manual", ReconcileInterval: time.Hour}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = eng.Run(ctx) }()
	w := sim.World()
	admin := w.AdminAccountID() // on Data Center the simulator's account id is the user key
	srv, err := api.New(api.Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), KeyRate: 1000, KeyBurst: 1000,
		Store: db, Index: idx, Engine: eng, Connections: []api.Connection{{
			Name: conn, Kind: "datacenter", URL: hs.URL, Auth: "pat", WebhookSecret: webhookSecret,
			Self: func(context.Context) (connector.Identity, error) { return connector.Identity{Key: admin}, nil },
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = srv.Close(sctx)
		cancel()
		<-engDone
		idx.Close()
		db.Close()
	})
	if _, err := eng.SyncOnce(ctx, conn, true); err != nil {
		t.Fatal(err)
	}
	// Only comment events, so nothing but the Server-shaped deliveries can
	// bring the change in.
	if _, err := w.RegisterWebhook(jirasim.Webhook{URL: srv.URL() + "/api/v1/webhooks/jira/" + conn, Secret: webhookSecret,
		Events: []string{"comment_created", "comment_updated", "comment_deleted"}}); err != nil {
		t.Fatal(err)
	}
	st := w.Issues[0]
	agent := ""
	w.RLock()
	for _, u := range w.Users {
		if u.Active && u.AccountID != admin && w.CanSeeLocked(u.AccountID, st, nil) {
			agent = u.AccountID
			break
		}
	}
	w.RUnlock()
	if agent == "" {
		t.Fatal("no user may comment on " + st.Key)
	}
	stored := func(word string) bool {
		is, err := db.Issue(ctx, conn, st.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range is.Comments {
			if strings.Contains(c.Body, word) {
				return true
			}
		}
		return false
	}
	if _, err := w.AddComment(agent, st.Key, jirasim.TextToADF("zeppelin hangar badge reader offline"), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !stored("zeppelin") {
		if time.Now().After(deadline) {
			t.Fatal("a Server-era comment_created (no issue object) did not refresh the issue")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The integration's own comment: recognised by its user key, ignored.
	if _, err := w.AddComment(admin, st.Key, jirasim.TextToADF("echoword approved by switchyard"), nil); err != nil {
		t.Fatal(err)
	}
	fctx, fc := context.WithTimeout(ctx, 10*time.Second)
	defer fc()
	if err := w.FlushWebhooks(fctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if stored("echoword") {
		t.Fatal("the integration's own comment (matched by user key) was applied: echo")
	}
}

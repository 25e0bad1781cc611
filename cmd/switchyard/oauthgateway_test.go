package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"switchyard/config"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/store"
)

// toSim sends every request, whatever its host (auth.atlassian.com,
// api.atlassian.com, the site), to the simulator, which lays its paths out as
// Atlassian does; it records the paths asked for.
type toSim struct {
	sim   *url.URL
	mu    sync.Mutex
	paths []string
}

func (t *toSim) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.mu.Lock()
	t.paths = append(t.paths, r.URL.Host+r.URL.Path)
	t.mu.Unlock()
	r.URL.Scheme, r.URL.Host, r.Host = t.sim.Scheme, t.sim.Host, t.sim.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestOAuthDefaultGatewayReachesTheAPI: an OAuth connection configured with
// the default Atlassian URLs (and with the gateway written with its /ex/jira,
// as the old default was) calls https://api.atlassian.com/ex/jira/{cloudId}/rest/…
// once, not /ex/jira/ex/jira/….
func TestOAuthDefaultGatewayReachesTheAPI(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 1, Issues: 5}})
	hs := httptest.NewServer(sim)
	t.Cleanup(func() { hs.Close(); sim.Close() })
	sim.SetBaseURL(hs.URL)
	su, _ := url.Parse(hs.URL)

	for name, gateway := range map[string]string{
		"default":          "",
		"with /ex/jira":    "api_gateway_url: https://api.atlassian.com/ex/jira",
		"with /ex/jira/":   "api_gateway_url: https://api.atlassian.com/ex/jira/",
		"explicit gateway": "api_gateway_url: https://api.atlassian.com",
	} {
		t.Run(name, func(t *testing.T) {
			yaml := `server: {encryption_key: "` + strings.Repeat("ab", 32) + `", public_url: "https://switchyard.example"}
connections:
  - name: cloudapp
    kind: cloud
    url: ` + hs.URL + `
    auth:
      type: oauth
      client_id: ` + jirasim.DefaultOAuthClientID + `
      client_secret: ` + jirasim.DefaultOAuthClientSecret + `
      ` + gateway + `
`
			cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			cc := cfg.Connections[0]
			if gateway == "" && cc.Auth.APIGatewayURL != config.DefaultOAuthGatewayURL {
				t.Fatalf("default api_gateway_url %q", cc.Auth.APIGatewayURL)
			}
			rt := &toSim{sim: su}
			hc := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			// Consent and code exchange at the default auth.atlassian.com URLs.
			ctx := context.Background()
			a := cc.Auth
			oc := &connector.OAuthConfig{ClientID: a.ClientID, ClientSecret: a.ClientSecret.Value(), RedirectURL: a.RedirectURL,
				Scopes: a.Scopes, AuthURL: a.AuthURL, TokenURL: a.TokenURL, ResourcesURL: a.ResourcesURL, APIGatewayURL: a.APIGatewayURL, HTTPClient: hc}
			res, err := hc.Get(oc.AuthCodeURL("st"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc, _ := url.Parse(res.Header.Get("Location"))
			tok, err := oc.Exchange(ctx, loc.Query().Get("code"))
			if err != nil {
				t.Fatalf("exchange at %s: %v", a.TokenURL, err)
			}
			db, err := store.Open(filepath.Join(t.TempDir(), "s.db"), store.WithTokenKey(bytes.Repeat([]byte{1}, 32)))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.SaveToken(ctx, cc.Name, tok); err != nil {
				t.Fatal(err)
			}

			// The connection as serve and sync build it.
			auth, err := syncAuth(cc, db)
			if err != nil {
				t.Fatal(err)
			}
			c, err := connector.New(connector.Options{Name: cc.Name, BaseURL: cc.URL, Auth: auth, HTTPClient: &http.Client{Transport: rt}})
			if err != nil {
				t.Fatal(err)
			}
			me, err := c.Myself(ctx)
			if err != nil || me.AccountID == "" {
				t.Fatalf("myself through the default gateway: %+v %v (paths %v)", me, err, rt.paths)
			}
			want := "api.atlassian.com/ex/jira/" + jirasim.DefaultCloudID + "/rest/api/3/myself"
			rt.mu.Lock()
			defer rt.mu.Unlock()
			found := false
			for _, p := range rt.paths {
				found = found || p == want
			}
			if !found {
				t.Fatalf("no call to %s; calls: %v", want, rt.paths)
			}
		})
	}
}

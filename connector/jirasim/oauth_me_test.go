package jirasim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// TestOAuthMe: /me names the account that consented (the admin by default,
// or the one set with SetOAuthConsentAs), shows its own e-mail even when
// hidden from others, and needs read:me.
func TestOAuthMe(t *testing.T) {
	s := newTestSim(t, Options{})
	var person *SimUser
	for _, u := range s.srv.World().Users {
		if u.Email == "" && u.HiddenEmail != "" && u.Active {
			person = u
			break
		}
	}
	if person == nil {
		t.Fatal("no user with a hidden e-mail")
	}
	me := func(scope string) (int, map[string]any) {
		t.Helper()
		q := consentQuery(s)
		q.Set("scope", scope)
		_, back := authorize(t, s, q)
		_, tr := exchange(t, s, back.Get("code"), false)
		req, _ := http.NewRequest("GET", s.ts.URL+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, out := me("read:me"); st != 200 || out["account_id"] != s.srv.World().AdminAccountID() {
		t.Fatalf("default consent: %d %v", st, out)
	}
	s.srv.SetOAuthConsentAs(person.AccountID)
	if st, out := me("read:me"); st != 200 || out["account_id"] != person.AccountID || out["email"] != person.HiddenEmail || out["name"] != person.DisplayName {
		t.Fatalf("consent as a person: %d %v", st, out)
	}
	if st, _ := me("read:jira-work"); st != http.StatusForbidden {
		t.Fatalf("without read:me: %d", st)
	}
	resp, err := http.Get(s.ts.URL + "/me?" + url.Values{}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
}

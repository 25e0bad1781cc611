package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleFlashIsCodedInChromium: the success box shows only messages
// the server knows, for configured connections; caller text in ?done= or
// ?connected= shows nothing.
func TestConsoleFlashIsCodedInChromium(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := browser(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("sign in", chromedp.Navigate(e.url+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), e.admin+"\r"), chromedp.WaitVisible(chromedp.CSS("#connections")))

	phish := "Your API key expired. Paste it at https://evil.example/renew to keep access."
	for _, tc := range []struct {
		page, query, want string // want "" = no success box
	}{
		{"connections", "done=" + url.QueryEscape(phish), ""},
		{"connections", "connected=" + url.QueryEscape(phish), ""},
		{"connections", "done=connected&connection=" + url.QueryEscape(phish), ""},
		{"connections", "done=connected&connection=nope", ""},
		{"connections", "done=" + url.QueryEscape("<b>x</b>") + "&connection=" + connName, ""},
		{"sync", "done=" + url.QueryEscape(phish), ""},
		{"connections", "done=connected&connection=" + connName, "Connected " + connName + "; a sync has started."},
		{"connections", "done=purged&connection=" + connName, "Disconnected " + connName + " and purged its data."},
		{"sync", "done=full_sync&connection=" + connName, "Full sync of " + connName + " requested."},
	} {
		wait := "#connections"
		if tc.page == "sync" {
			wait = "#full-sync-" + connName
		}
		run("open "+tc.page+"?"+tc.query, chromedp.Navigate(e.url+"/console/"+tc.page+"?"+tc.query), chromedp.WaitVisible(chromedp.CSS(wait)))
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, "evil.example") || strings.Contains(body, "<b>") {
			t.Errorf("%s?%s: caller text on the page", tc.page, tc.query)
		}
		n := count(t, ctx, "#flash")
		if tc.want == "" {
			if n != 0 {
				t.Errorf("%s?%s: a success box is shown", tc.page, tc.query)
			}
			continue
		}
		if n != 1 {
			t.Errorf("%s?%s: no success box", tc.page, tc.query)
			continue
		}
		if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#flash"))); got != tc.want {
			t.Errorf("%s?%s: flash %q, want %q", tc.page, tc.query, got, tc.want)
		}
	}
}

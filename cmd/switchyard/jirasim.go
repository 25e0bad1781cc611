package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
)

func init() {
	register(command{
		name:    "jirasim",
		summary: "serve a deterministic Jira simulator (Cloud or Data Center) with generated data",
		run:     runJirasim,
	})
}

func runJirasim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("jirasim", "--addr HOST:PORT [--seed N] [--projects P] [--issues I] [--mode cloud|datacenter] [--latency D] [--rate-limit RPS] [--fault-rate F] [--admin-email E] [--admin-token T] [--replay DIR [--replay-fallback simulator|404]]", stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address HOST:PORT (port 0 picks a free port)")
	rf := addReplayFlags(fs)
	seed := fs.Int64("seed", 1, "seed of the generated world (same seed, same world)")
	projects := fs.Int("projects", 4, "number of projects to generate")
	issues := fs.Int("issues", 200, "number of issues to generate")
	mode := fs.String("mode", "cloud", "cloud | datacenter")
	latency := fs.Duration("latency", 0, "added latency per API request, e.g. 50ms")
	rateLimit := fs.Float64("rate-limit", 0, "API requests per second before 429s (0 = unlimited)")
	faultRate := fs.Float64("fault-rate", 0, "share of API requests that fail on purpose, 0..1 (5xx, resets, truncated bodies)")
	adminEmail := fs.String("admin-email", "admin@example.com", "email of the admin account (Basic auth user)")
	adminToken := fs.String("admin-token", jirasim.DefaultAdminToken, "admin API token (Basic auth password) and Data Center PAT")
	dc := addDCFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (jirasim takes only flags)", pos[0])
	}
	replay, err := rf.load()
	if err != nil {
		return err
	}
	o, err := jirasimOptions(*seed, *projects, *issues, *mode, *latency, *rateLimit, *faultRate, *adminEmail, *adminToken)
	if err != nil {
		return err
	}
	if err := dc.apply(&o); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", *addr, err)
	}
	srv := jirasim.New(o)
	base := "http://" + ln.Addr().String()
	srv.SetBaseURL(base)
	handler := rf.handler(replay, srv, base, stdout)
	printJirasimBanner(stdout, srv, base)

	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("jirasim stopping")
	shCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shCtx)
	srv.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// jirasimOptions validates the flags; each error names the flag and the bad value.
func jirasimOptions(seed int64, projects, issues int, mode string, latency time.Duration, rateLimit, faultRate float64, email, token string) (jirasim.Options, error) {
	var o jirasim.Options
	switch {
	case projects < 1 || projects > 1000:
		return o, fmt.Errorf("--projects %d: must be between 1 and 1000", projects)
	case issues < 0 || issues > 1_000_000:
		return o, fmt.Errorf("--issues %d: must be between 0 and 1000000", issues)
	case mode != string(switchyard.ModeCloud) && mode != string(switchyard.ModeDataCenter):
		return o, fmt.Errorf("--mode %q: must be cloud or datacenter", mode)
	case latency < 0:
		return o, fmt.Errorf("--latency %s: must not be negative", latency)
	case rateLimit < 0:
		return o, fmt.Errorf("--rate-limit %g: must not be negative", rateLimit)
	case faultRate < 0 || faultRate > 1:
		return o, fmt.Errorf("--fault-rate %g: must be between 0 and 1", faultRate)
	case !strings.Contains(email, "@") || strings.ContainsAny(email, " :"):
		return o, fmt.Errorf("--admin-email %q: not an email address", email)
	case token == "" || strings.ContainsAny(token, " \t\r\n"):
		return o, fmt.Errorf("--admin-token %q: must be non-empty without spaces", token)
	}
	if issues == 0 {
		issues = -1 // GenerateOptions treats 0 as "default"; -1 means none
	}
	o.GenerateOptions = jirasim.GenerateOptions{Seed: seed, Projects: projects, Issues: issues, Mode: switchyard.Mode(mode), AdminEmail: email}
	o.AdminToken = token
	o.Latency = latency
	o.RateLimit = rateLimit
	o.FaultRate = faultRate
	return o, nil
}

func printJirasimBanner(w io.Writer, srv *jirasim.Server, base string) {
	o := srv.Options()
	fmt.Fprintf(w, "Jira simulator (%s mode) listening on %s\n", o.Mode, base)
	if cp := o.DataCenter.ContextPath; cp != "" && o.Mode == switchyard.ModeDataCenter {
		fmt.Fprintf(w, "  site URL:     %s%s  (context path %s; /_sim/ stays at the root)\n", base, cp, cp)
	}
	fmt.Fprintf(w, "  admin:        %s  token: %s   (Basic auth; Data Center PAT: Bearer token)\n", srv.AdminEmail(), o.AdminToken)
	if o.Mode != switchyard.ModeDataCenter {
		fmt.Fprintf(w, "  OAuth 2.0:    client_id %s  client_secret %s\n", o.OAuthClientID, o.OAuthClientSecret)
		fmt.Fprintf(w, "                authorize %s/authorize  token %s/oauth/token\n", base, base)
		fmt.Fprintf(w, "  cloud id:     %s  (API gateway %s/ex/jira/%s)\n", o.CloudID, base, o.CloudID)
	}
	fmt.Fprintf(w, "  world:        %s/_sim/state\n", base)
	fmt.Fprintf(w, "  oracle:       %s/_sim/can-see?account=ID&issue=KEY[&comment=ID]\n", base)
	fmt.Fprintf(w, "  knobs/stats:  %s/_sim/knobs  %s/_sim/stats\n", base, base)
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

package api

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a fresh registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	webhooks  *prometheus.CounterVec
	refreshes *prometheus.CounterVec
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: counterVec("switchyard_api_requests_total",
			"API requests by route pattern and status code.", "route", "status"),
		latency: histogramVec("switchyard_api_request_duration_seconds",
			"API request latency by route pattern.", prometheus.ExponentialBuckets(0.0005, 2, 16), "route"),
		webhooks: counterVec("switchyard_webhooks_received_total",
			"Jira webhook deliveries by connection and outcome (queued, duplicate, ignored, sync_queued, rejected).", "connection", "outcome"),
		refreshes: counterVec("switchyard_webhook_refreshes_total",
			"Issue refreshes done for webhooks, by connection and outcome.", "connection", "outcome"),
	}
	reg.MustRegister(m.requests, m.latency, m.webhooks, m.refreshes)
	return m
}

func (m *metrics) observeRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// JiraMetrics counts Jira requests, their latency, 429s and retries by
// connection and endpoint template. It implements connector.Observer; create
// it before the connector clients and register it with the server's registry.
type JiraMetrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	retries   *prometheus.CounterVec
}

// NewJiraMetrics registers the Jira request metrics with reg.
func NewJiraMetrics(reg *prometheus.Registry) *JiraMetrics {
	m := &JiraMetrics{
		requests: counterVec("switchyard_jira_requests_total",
			"Jira HTTP attempts by connection, endpoint template and status (0: no response).", "connection", "endpoint", "status"),
		latency: histogramVec("switchyard_jira_request_duration_seconds",
			"Jira request latency by connection and endpoint template.", prometheus.ExponentialBuckets(0.002, 2, 14), "connection", "endpoint"),
		throttled: counterVec("switchyard_jira_rate_limited_total",
			"Jira 429 answers by connection and endpoint template.", "connection", "endpoint"),
		retries: counterVec("switchyard_jira_retries_total",
			"Jira request retries by connection, endpoint template and reason.", "connection", "endpoint", "reason"),
	}
	reg.MustRegister(m.requests, m.latency, m.throttled, m.retries)
	return m
}

// ObserveRequest implements connector.Observer.
func (m *JiraMetrics) ObserveRequest(connection, endpoint string, status int, took time.Duration) {
	m.requests.WithLabelValues(connection, endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(connection, endpoint).Observe(took.Seconds())
	if status == 429 {
		m.throttled.WithLabelValues(connection, endpoint).Inc()
	}
}

// ObserveRetry implements connector.Observer.
func (m *JiraMetrics) ObserveRetry(connection, endpoint string, attempt int, wait time.Duration, reason string) {
	m.retries.WithLabelValues(connection, endpoint, reason).Inc()
}

// syncCollector reads the engine's status at scrape time: stored items, the
// state, and the latest runs (the store keeps them, so the figures survive
// restarts).
type syncCollector struct {
	s                                          *Server
	items, running, runs, runIssues, runErrors *prometheus.Desc
	lastRun                                    *prometheus.Desc
}

func newSyncCollector(s *Server) *syncCollector {
	return &syncCollector{
		s:         s,
		items:     prometheus.NewDesc("switchyard_sync_items", "Items stored for a connection, by kind.", []string{"connection", "kind"}, nil),
		running:   prometheus.NewDesc("switchyard_sync_running", "1 while a sync of the connection runs.", []string{"connection"}, nil),
		runs:      prometheus.NewDesc("switchyard_sync_recent_runs", "Runs among the latest five, by final state.", []string{"connection", "state"}, nil),
		runIssues: prometheus.NewDesc("switchyard_sync_last_run_issues", "Issues written by the latest finished run.", []string{"connection"}, nil),
		runErrors: prometheus.NewDesc("switchyard_sync_last_run_failed", "1 when the latest finished run failed.", []string{"connection"}, nil),
		lastRun:   prometheus.NewDesc("switchyard_sync_last_run_timestamp_seconds", "When the latest run finished.", []string{"connection"}, nil),
	}
}

func (c *syncCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.items, c.running, c.runs, c.runIssues, c.runErrors, c.lastRun} {
		ch <- d
	}
}

func (c *syncCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.opts.Engine == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range c.s.connNames {
		st, err := c.s.opts.Engine.Status(ctx, name)
		if err != nil {
			continue
		}
		for kind, n := range st.Counts {
			ch <- prometheus.MustNewConstMetric(c.items, prometheus.GaugeValue, float64(n), name, kind)
		}
		running := 0.0
		if st.State == "running" {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, running, name)
		states := map[string]int{}
		var lastDone bool
		for _, r := range st.LastRuns {
			state := r.State
			if state == "" {
				state = "succeeded"
				if r.Error != "" {
					state = "failed"
				}
			}
			states[state]++
			if !lastDone && !r.Finished.IsZero() {
				lastDone = true
				failed := 0.0
				if r.Error != "" {
					failed = 1
				}
				ch <- prometheus.MustNewConstMetric(c.runIssues, prometheus.GaugeValue, float64(r.Issues), name)
				ch <- prometheus.MustNewConstMetric(c.runErrors, prometheus.GaugeValue, failed, name)
				ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, float64(r.Finished.Unix()), name)
			}
		}
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}

package jirasim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pageParams reads startAt and maxResults; maxResults above capMax is lowered
// to capMax (Jira silently caps), missing or zero takes def. Bad numbers are a
// 400 naming the parameter and value, written here.
func pageParams(rw http.ResponseWriter, r *http.Request, startName, maxName string, def, capMax int) (start, max int, ok bool) {
	q := r.URL.Query()
	start, err := apiIntParam(q, startName, 0)
	if err == nil && start < 0 {
		err = fmt.Errorf("%s %d must not be negative", startName, start)
	}
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return 0, 0, false
	}
	max, err = apiIntParam(q, maxName, def)
	if err == nil && max < 0 {
		err = fmt.Errorf("%s %d must not be negative", maxName, max)
	}
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return 0, 0, false
	}
	if max == 0 {
		max = def
	}
	if max > capMax {
		max = capMax
	}
	return start, max, true
}

func apiIntParam(q url.Values, name string, def int) (int, error) {
	n, err := optionalIntParam(q, name)
	if n == nil || err != nil {
		return def, err
	}
	return *n, nil
}

// optionalIntParam parses an integer query parameter; nil when it is absent.
func optionalIntParam(q url.Values, name string) (*int, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a number", name, s)
	}
	return &n, nil
}

// numericPathID returns path parameter param, answering 400 ("The <what> id
// '<id>' is not a number.") when it is not an integer.
func numericPathID(rw http.ResponseWriter, r *http.Request, param, what string) (string, bool) {
	id := r.PathValue(param)
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		apiError(rw, http.StatusBadRequest, "The "+what+" id '"+id+"' is not a number.")
		return id, false
	}
	return id, true
}

func apiBoolParam(q url.Values, name string) bool {
	b, _ := strconv.ParseBool(q.Get(name))
	return b
}

// pageBean renders Jira's PageBean: values[start:start+max] with isLast, total,
// and a nextPage link when more remain.
func pageBean[T any](r *http.Request, base string, all []T, start, max int) map[string]any {
	end := min(start+max, len(all))
	vals := []T{}
	if start < len(all) {
		vals = all[start:end]
	}
	self := base + r.URL.Path
	out := map[string]any{
		"self":       self + "?" + r.URL.RawQuery,
		"maxResults": max,
		"startAt":    start,
		"total":      len(all),
		"isLast":     end >= len(all),
		"values":     vals,
	}
	if end < len(all) {
		q := r.URL.Query()
		q.Set("startAt", strconv.Itoa(end))
		q.Set("maxResults", strconv.Itoa(max))
		out["nextPage"] = self + "?" + q.Encode()
	}
	return out
}

// slicePage returns all[start:start+max] (empty past the end).
func slicePage[T any](all []T, start, max int) []T {
	if start >= len(all) {
		return []T{}
	}
	return all[start:min(start+max, len(all))]
}

func apiSplitComma(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

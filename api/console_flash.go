package api

import "net/url"

// Console success messages travel in redirects as a code and a connection
// name (?done=connected&connection=acme), never as text: a crafted link
// cannot put words in the success box. An unknown code, or a name that is
// not a configured connection, shows nothing.
var flashMessages = map[string]func(conn string) string{
	"connected":    func(c string) string { return "Connected " + c + "; a sync has started." },
	"disconnected": func(c string) string { return "Disconnected " + c + "; its indexed data is kept." },
	"purged":       func(c string) string { return "Disconnected " + c + " and purged its data." },
	"sync":         func(c string) string { return "Sync of " + c + " requested." },
	"full_sync":    func(c string) string { return "Full sync of " + c + " requested." },
}

// flashURL is path with the message code and connection as its query.
func flashURL(path, code, conn string) string {
	return path + "?" + url.Values{"done": {code}, "connection": {conn}}.Encode()
}

// flash is the message a console page shows for its ?done= and ?connection=.
func (s *Server) flash(q url.Values) string {
	msg, ok := flashMessages[q.Get("done")]
	if !ok {
		return ""
	}
	conn := q.Get("connection")
	if _, known := s.conns[conn]; !known {
		return ""
	}
	return msg(conn)
}

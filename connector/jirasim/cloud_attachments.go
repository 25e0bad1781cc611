package jirasim

import (
	"net/http"
	"strconv"
)

// Attachments: GET /rest/api/3/attachment/{id} (metadata) and
// /attachment/content/{id} (the bytes). The simulator serves content directly
// (as with redirect=false) instead of redirecting to a media host.

func (s *Server) attachmentMeta(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	a := v.visibleAttachment(rw, r.PathValue("id"))
	if a == nil {
		return
	}
	apiJSON(rw, http.StatusOK, v.attachment(a, true))
}

func (v *view) visibleAttachment(rw http.ResponseWriter, id string) *SimAttachment {
	a, is := v.w.AttachmentByID(id)
	if a == nil || !v.s.canSee(v.c, is, nil) {
		apiError(rw, http.StatusNotFound, "The attachment with id '"+id+"' does not exist or you do not have permission to see it.")
		return nil
	}
	return a
}

func (s *Server) attachmentContent(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	a := v.visibleAttachment(rw, r.PathValue("id"))
	if a == nil {
		s.world.RUnlock()
		return
	}
	content, mime, name := a.Content, a.MimeType, a.Filename
	s.world.RUnlock()
	if mime == "" {
		mime = "application/octet-stream"
	}
	rw.Header().Set("Content-Type", mime)
	rw.Header().Set("Content-Length", strconv.Itoa(len(content)))
	rw.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = rw.Write(content)
	}
}

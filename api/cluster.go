package api

import (
	"net/http"

	"switchyard"
)

// ClusterStatus is GET /api/v1/cluster: this replica among the replicas
// sharing its store (one replica, the leader, with the SQLite store).
type ClusterStatus struct {
	Driver    string `json:"driver"`    // sqlite | postgres
	ReplicaID string `json:"replicaId"` // this replica
	Leader    bool   `json:"leader"`    // whether this replica is the leader
	LeaderID  string `json:"leaderId"`  // "" while no replica leads (an election is under way)
	// IndexLag is how many change-log sequences this replica's search index
	// is behind the head (0 on SQLite: the one process indexes as it writes).
	IndexLag int64 `json:"indexLag"`
	IndexSeq int64 `json:"indexSeq"` // last change-log sequence applied to this index
	HeadSeq  int64 `json:"headSeq"`  // newest change-log sequence in the store
	LeaseMS  int64 `json:"leaseMs"`  // election lease
}

// handleCluster: GET /api/v1/cluster.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Cluster == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server has no cluster information (not started by serve)")
	}
	st, err := s.opts.Cluster(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

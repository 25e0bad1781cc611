package syncer

// SetScope replaces a connection's filters while the engine runs (the API's
// PUT /api/v1/sync/filters). A run in progress keeps the scope it started with;
// the next run sees the new scope, and because its hash differs from the one
// stored by the last full sync, that run is full.
func (e *Engine) SetScope(conn string, sc Scope) error {
	r, err := e.runner(conn)
	if err != nil {
		return err
	}
	r.stateMu.Lock()
	r.conn.Scope = sc
	r.stateMu.Unlock()
	return nil
}

// Scope returns a connection's current scope.
func (e *Engine) Scope(conn string) (Scope, error) {
	r, err := e.runner(conn)
	if err != nil {
		return Scope{}, err
	}
	return r.connection().Scope, nil
}

// connection is a consistent copy of the runner's connection (SetScope may
// replace its scope concurrently).
func (r *runner) connection() Connection {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	return r.conn
}

// SetPaused stops (true) or resumes (false) a connection's scheduled and
// triggered runs: a disconnected connection is not synced. A run in progress
// is not interrupted. SyncOnce, called directly, ignores the mark.
func (e *Engine) SetPaused(conn string, paused bool) error {
	r, err := e.runner(conn)
	if err != nil {
		return err
	}
	r.paused.Store(paused)
	return nil
}

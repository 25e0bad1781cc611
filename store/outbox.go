package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// OutboxItem is one unit of deferred work (a write-back comment, a notifier
// post). It survives restarts and is retried with backoff until completed.
type OutboxItem struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Key         string          `json:"key,omitempty"` // de-duplication key: one item per key, ever
	Payload     json.RawMessage `json:"payload"`
	Attempts    int             `json:"attempts"`
	NextAttempt time.Time       `json:"nextAttemptAt"`
	LastError   string          `json:"lastError,omitempty"`
	Done        bool            `json:"done"`
	Created     time.Time       `json:"createdAt"`
	DoneAt      time.Time       `json:"doneAt,omitzero"`
}

const outboxCols = `id, kind, COALESCE(dedupe_key, ''), payload, attempts, next_attempt_ms, last_error, done, created_ms, done_ms`

func scanOutbox(row interface{ Scan(...any) error }) (OutboxItem, error) {
	var it OutboxItem
	var payload string
	var next, created, done int64
	err := row.Scan(&it.ID, &it.Kind, &it.Key, &payload, &it.Attempts, &next, &it.LastError, &it.Done, &created, &done)
	it.Payload = json.RawMessage(payload)
	it.NextAttempt, it.Created, it.DoneAt = fromMS(next), fromMS(created), fromMS(done)
	return it, err
}

// Enqueue adds an item due now. With a non-empty it.Key, an item already
// stored under that key is returned instead (false), done or not.
func (tx *Tx) Enqueue(ctx context.Context, it OutboxItem) (OutboxItem, bool, error) {
	if strings.TrimSpace(it.Kind) == "" {
		return it, false, fieldErr("kind", "empty outbox kind")
	}
	payload := "null"
	if len(it.Payload) > 0 {
		if !json.Valid(it.Payload) {
			return it, false, fieldErr("payload", "outbox payload is not valid JSON")
		}
		payload = string(it.Payload)
	}
	now := tx.now.UnixMilli()
	// RETURNING yields the new row, or no row when the key is taken.
	out, err := scanOutbox(tx.queryRow(ctx, `INSERT INTO outbox (kind, dedupe_key, payload, next_attempt_ms, created_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (dedupe_key) DO NOTHING RETURNING `+outboxCols, it.Kind, nullString(it.Key), payload, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		out, err = scanOutbox(tx.queryRow(ctx, `SELECT `+outboxCols+` FROM outbox WHERE dedupe_key = ?`, it.Key))
		return out, false, tx.db.wrap("enqueue", err)
	}
	return out, err == nil, tx.db.wrap("enqueue", err)
}

// Enqueue adds an outbox item in its own transaction.
func (db *DB) Enqueue(ctx context.Context, it OutboxItem) (OutboxItem, bool, error) {
	var out OutboxItem
	var created bool
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		out, created, err = tx.Enqueue(ctx, it)
		return err
	})
	return out, created, err
}

const claimOutboxSQL = `UPDATE outbox SET claimed_until_ms = ?1 WHERE id IN (
		SELECT id FROM outbox WHERE done = 0 AND next_attempt_ms <= ?2 AND claimed_until_ms <= ?2
			AND (?3 = '[]' OR ?3 = 'null' OR kind IN (SELECT value FROM json_each(?3)))
		ORDER BY next_attempt_ms, id LIMIT ?4)
	RETURNING ` + outboxCols

// claimOutboxPostgres is claimOutboxSQL with FOR UPDATE SKIP LOCKED: rows
// another replica's claim has locked are skipped, and a row claimed and
// committed meanwhile is re-checked (claimed_until_ms) before it is taken.
const claimOutboxPostgres = `UPDATE outbox SET claimed_until_ms = $1 WHERE id IN (
		SELECT id FROM outbox WHERE done = 0 AND next_attempt_ms <= $2 AND claimed_until_ms <= $2
			AND ($3 = '[]' OR $3 = 'null' OR kind IN (SELECT value FROM json_array_elements_text(CAST($3 AS json))))
		ORDER BY next_attempt_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
	RETURNING ` + outboxCols

// ClaimOutbox leases up to limit due items (of the given kinds, or any when
// none are named) for lease: nobody else claims them until the lease ends, so
// a worker that dies mid-item gives it back by itself.
func (db *DB) ClaimOutbox(ctx context.Context, limit int, lease time.Duration, kinds ...string) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = 10
	}
	if lease <= 0 {
		lease = time.Minute
	}
	kj, _ := json.Marshal(kinds)
	var out []OutboxItem
	query := claimOutboxSQL
	if db.postgres() {
		query = claimOutboxPostgres
	}
	// On PostgreSQL the claim skips the all-writers lock: replicas claim at
	// the same time, each locking the rows it takes and skipping the rows
	// another claim holds, so no item is leased twice.
	err := db.tx(ctx, false, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		rows, err := tx.query(ctx, query, now+lease.Milliseconds(), now, string(kj), limit)
		if err != nil {
			return tx.db.wrap("claim outbox", err)
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanOutbox(rows)
			if err != nil {
				return tx.db.wrap("claim outbox", err)
			}
			out = append(out, it)
		}
		return tx.db.wrap("claim outbox", rows.Err())
	})
	// RETURNING order is unspecified; keep the due order.
	sortOutbox(out)
	return out, err
}

func sortOutbox(items []OutboxItem) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && outboxLess(items[j], items[j-1]); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

func outboxLess(a, b OutboxItem) bool {
	if !a.NextAttempt.Equal(b.NextAttempt) {
		return a.NextAttempt.Before(b.NextAttempt)
	}
	return a.ID < b.ID
}

// CompleteOutbox marks an item done.
func (db *DB) CompleteOutbox(ctx context.Context, id int64) error {
	return db.Tx(ctx, func(tx *Tx) error {
		return tx.CompleteOutbox(ctx, id)
	})
}

// OutboxBackoff is the default wait before attempt n+1 after n failures:
// 2s, 4s, 8s … capped at 10 minutes. Items are never dropped.
func OutboxBackoff(failures int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < failures && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// FailOutbox records a failed attempt and schedules the next one after
// retryIn (OutboxBackoff of the attempt count when retryIn <= 0). The
// failure reason stays visible in LastError.
func (db *DB) FailOutbox(ctx context.Context, id int64, reason string, retryIn time.Duration) (OutboxItem, error) {
	var out OutboxItem
	err := db.Tx(ctx, func(tx *Tx) error {
		var attempts int
		err := tx.queryRow(ctx, `SELECT attempts FROM outbox WHERE id = ? AND done = 0`, id).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no pending outbox item %d", id)
		}
		if err != nil {
			return tx.db.wrap("fail outbox", err)
		}
		attempts++
		if retryIn <= 0 {
			retryIn = OutboxBackoff(attempts)
		}
		if _, err := tx.exec(ctx, `UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_ms = ?, claimed_until_ms = 0 WHERE id = ?`,
			attempts, reason, tx.now.Add(retryIn).UnixMilli(), id); err != nil {
			return err
		}
		out, err = scanOutbox(tx.queryRow(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
		return tx.db.wrap("fail outbox", err)
	})
	return out, err
}

// OutboxItems lists items, not-done first then newest; pendingOnly hides done ones.
func (db *DB) OutboxItems(ctx context.Context, pendingOnly bool, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE (?1 = 0 OR done = 0) ORDER BY done, id DESC LIMIT ?2`, pendingOnly, limit)
	return collectRows(db, "outbox", rows, err, scanOutbox)
}

// FirstDelivery records a webhook delivery id for ttl and reports whether this
// is its first sighting; a repeat within ttl returns false. Expired ids are
// forgotten, so ttl must outlast the sender's retry window.
func (db *DB) FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" {
		return false, fieldErr("deliveryId", "empty webhook delivery id")
	}
	if ttl <= 0 {
		return false, fieldErr("ttl", "delivery ttl must be positive, got %s", ttl)
	}
	var first bool
	err := db.Tx(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		if _, err := tx.exec(ctx, `DELETE FROM webhook_deliveries WHERE expires_ms <= ?`, now); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (id, expires_ms) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, now+ttl.Milliseconds())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		first = n == 1
		return nil
	})
	return first, err
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
)

// The API changes one column of a connection's state at a time; these
// update only that column so that the sync engine's filter hash, written
// concurrently, is never overwritten with a stale copy.

// SetConnectionFilters stores the filters edited through the API (JSON owned by
// the caller); nil clears them, so the configuration file applies again.
func (db *DB) SetConnectionFilters(ctx context.Context, conn string, filters json.RawMessage) error {
	if err := validConn(conn); err != nil {
		return err
	}
	var v sql.NullString
	if len(filters) > 0 {
		if !json.Valid(filters) {
			return fieldErr("filters", "not valid JSON")
		}
		v = sql.NullString{String: string(filters), Valid: true}
	}
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO connections (conn, filters, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT (conn) DO UPDATE SET filters = excluded.filters, updated_ms = excluded.updated_ms`,
			conn, v, tx.now.UnixMilli())
		return err
	})
}

// DisconnectConnection marks a connection disabled and deletes its OAuth
// token in one transaction; with purge it also removes every stored Jira
// entity and checkpoint of it (sync runs stay as history). API-edited filters
// survive a purge.
func (db *DB) DisconnectConnection(ctx context.Context, conn string, purge bool) error {
	if err := validConn(conn); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *Tx) error {
		var filters sql.NullString
		var version int64
		err := tx.queryRow(ctx, `SELECT filters, identity_version FROM connections WHERE conn = ?`, conn).Scan(&filters, &version)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if purge {
			if err := tx.DeleteConnectionData(ctx, conn); err != nil {
				return err
			}
			// identity_version keeps growing so that permission caches keyed
			// by it never mistake the purged identity for a later one.
			version++
		}
		if _, err := tx.exec(ctx, `DELETE FROM oauth_tokens WHERE conn = ?`, conn); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO connections (conn, filters, disabled, identity_version, updated_ms) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (conn) DO UPDATE SET disabled = 1, updated_ms = excluded.updated_ms`,
			conn, filters, version, tx.now.UnixMilli())
		return err
	})
}

// SetConnectionEnabled clears (or sets) a connection's disabled mark.
func (db *DB) SetConnectionEnabled(ctx context.Context, conn string, enabled bool) error {
	if err := validConn(conn); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO connections (conn, disabled, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT (conn) DO UPDATE SET disabled = excluded.disabled, updated_ms = excluded.updated_ms`,
			conn, !enabled, tx.now.UnixMilli())
		return err
	})
}

package store

import (
	"context"
	"database/sql"
	"errors"

	"switchyard/audit"
)

var _ audit.Store = (*DB)(nil)

// AppendAudit implements audit.Store: it reads the last record and inserts
// next's result in one write transaction. The single writer connection and
// BEGIN IMMEDIATE serialize appends within and across processes, so the chain
// never forks.
func (db *DB) AppendAudit(ctx context.Context, next func(prev audit.Record) (audit.Record, error)) (audit.Record, error) {
	var rec audit.Record
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		rec, err = tx.AppendAudit(ctx, next)
		return err
	})
	if err != nil {
		return audit.Record{}, err
	}
	return rec, nil
}

const auditCols = `seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (audit.Record, error) {
	var r audit.Record
	var t int64
	var payload string
	err := row.Scan(&r.Seq, &t, &r.Type, &r.Actor, &r.Subject, &payload, &r.PayloadHash, &r.PrevHash, &r.Hash)
	r.Time = fromMS(t)
	r.Payload = []byte(payload)
	return r, err
}

// AuditRecords implements audit.Store: up to limit records with seq >= from, in order.
func (db *DB) AuditRecords(ctx context.Context, from int64, limit int) ([]audit.Record, error) {
	rows, err := db.query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
	return collectRows(db, "audit records", rows, err, scanAudit)
}

// AuditHead implements audit.Store: the last record, or the zero Record.
func (db *DB) AuditHead(ctx context.Context) (audit.Record, error) {
	r, err := scanAudit(db.queryRow(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Record{}, nil
	}
	if err != nil {
		return audit.Record{}, db.wrap("audit head", err)
	}
	return r, nil
}

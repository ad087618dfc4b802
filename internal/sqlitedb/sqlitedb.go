// Package sqlitedb opens onair's SQLite database (DIR/onair.db) the one way every
// package uses it, and applies each package's embedded migrations under its own
// scope in the shared schema_migrations table.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strconv"
	"strings"

	// Registers the "sqlite3" database/sql driver (cgo).
	_ "github.com/mattn/go-sqlite3"
)

// DB is a pair of handles on one SQLite file in WAL mode with foreign keys on and a
// busy timeout: W has a single connection and takes every write (one writer per
// DB, transactions begin IMMEDIATE so they never deadlock on upgrade); R is a pool
// of query-only connections that WAL lets read beside the writer.
type DB struct {
	W, R *sql.DB
}

// Open opens (creating) the database at path.
func Open(path string) (*DB, error) {
	// The path is a URI path: escape what SQLite's URI parser would take as syntax.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + esc + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_synchronous=NORMAL"
	w, err := sql.Open("sqlite3", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if perr := w.Ping(); perr != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, perr)
	}
	r, err := sql.Open("sqlite3", dsn+"&_query_only=true")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	return &DB{W: w, R: r}, nil
}

// Close closes both handles.
func (d *DB) Close() error {
	return errors.Join(d.R.Close(), d.W.Close())
}

// Migrate applies the migrations in fsys matching glob (files named
// NNNN_description.sql, applied in version order) that are not yet recorded for
// scope, each in one transaction with its record.
func (d *DB) Migrate(ctx context.Context, scope string, fsys fs.FS, glob string, nowNS int64) error {
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		scope      TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		name       TEXT    NOT NULL,
		applied_ns INTEGER NOT NULL,
		PRIMARY KEY (scope, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(fsys, glob)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := name[strings.LastIndex(name, "/")+1:]
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a version number", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if err := d.apply(ctx, scope, version, base, string(body), nowNS); err != nil {
			return fmt.Errorf("migration %s/%s: %w", scope, base, err)
		}
	}
	return nil
}

func (d *DB) apply(ctx context.Context, scope string, version int, name, body string, nowNS int64) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE scope = ? AND version = ?`, scope, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (scope, version, name, applied_ns) VALUES (?, ?, ?, ?)`, scope, version, name, nowNS); err != nil {
		return err
	}
	return tx.Commit()
}

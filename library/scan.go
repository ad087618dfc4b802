package library

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// ScanProgress reports a running Scan.
type ScanProgress struct {
	// FilesSeen is how many media files have been handled (skipped as unchanged, or read).
	FilesSeen int `json:"files_seen"`
	// FilesTotal is how many media files the walk found.
	FilesTotal int `json:"files_total"`
	// FilesRead is how many files were read and probed.
	FilesRead int   `json:"files_read"`
	BytesRead int64 `json:"bytes_read"`
	// FilesPerSecond and MBPerSecond (10^6 bytes) are averages since the scan started; zero
	// when the Store has no clock.
	FilesPerSecond float64 `json:"files_per_second"`
	MBPerSecond    float64 `json:"mb_per_second"`
	// Path is the file handled last.
	Path string `json:"path,omitempty"`
}

// Problem is a file (or directory) with the reasons it is unplayable or not fully usable.
type Problem struct {
	Path    string   `json:"path"`
	Reasons []string `json:"reasons"`
}

// ScanSummary is the outcome of a Scan.
type ScanSummary struct {
	// Added are new assets; Updated are known paths whose file or sidecars changed (or that
	// returned after going missing); Unchanged were skipped without reading; Moved are new
	// paths that took over the id of a vanished asset with the same SHA-256; Missing are
	// assets newly marked missing.
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Moved     int `json:"moved"`
	Missing   int `json:"missing"`
	// Problems lists every unplayable file under the roots (including unchanged ones),
	// sidecar errors and unreadable directories, by path.
	Problems  []Problem `json:"problems"`
	FilesSeen int       `json:"files_seen"`
	BytesRead int64     `json:"bytes_read"`
	// Elapsed is the scan's wall time, zero when the Store has no clock.
	Elapsed time.Duration `json:"-"`
}

// writeBatchSize bounds the rows written in one transaction.
const writeBatchSize = 256

// knownAsset is an asset row as Scan sees it.
type knownAsset struct {
	id         int64
	path       string
	size       int64
	mtimeNs    int64
	sidecarSig string
	status     Status
	reason     string
	warnings   string
	recheck    bool
	sha        string
	seen       bool
	taken      bool // a moved file took this row
}

// Scan walks the library roots and brings the database up to date:
//
//   - a file whose size, mtime and sidecars are unchanged is skipped without being read;
//   - a new or changed file is read once, hashing (SHA-256) and probing it;
//   - a new path whose SHA-256 matches an asset that vanished from under the roots is a
//     move: the asset keeps its id and takes the new path;
//   - an asset no longer found is marked missing (never dropped), and becomes ok again
//     when it returns. Assets under a root or directory that cannot be read are left as
//     they are.
//
// Bad files are recorded as unplayable with a reason; the scan goes on and returns a nil
// error. The error is for a canceled context or a database failure. progress, if not nil,
// is called from Scan's goroutine. Scans of one Store run one at a time.
func (s *Store) Scan(ctx context.Context, roots []string, progress func(ScanProgress)) (ScanSummary, error) {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc := &scanRun{store: s, ctx: ctx, cancel: cancel, progress: progress}
	if s.opts.Now != nil {
		sc.start = s.opts.Now()
	}
	err := sc.run(roots)
	sc.sum.FilesSeen = sc.prog.FilesSeen
	sc.sum.BytesRead = sc.prog.BytesRead
	if s.opts.Now != nil {
		sc.sum.Elapsed = s.opts.Now().Sub(sc.start)
	}
	sc.sum.Problems = mergeProblems(sc.sum.Problems)
	s.generation.Add(1)
	return sc.sum, err
}

// Generation counts the scans this Store has run (finished or not); cached
// asset lookups are valid while it stays the same.
func (s *Store) Generation() int64 { return s.generation.Load() }

type scanRun struct {
	store    *Store
	ctx      context.Context
	cancel   context.CancelFunc
	progress func(ScanProgress)
	start    time.Time
	prog     ScanProgress
	sum      ScanSummary

	known map[string]*knownAsset
	// vanished are known assets under the walked roots that the walk did not find, by SHA-256.
	vanished map[string][]*knownAsset
}

func (sc *scanRun) run(roots []string) error {
	var absRoots []string
	for _, r := range roots {
		a, err := filepath.Abs(r)
		if err != nil {
			sc.sum.Problems = append(sc.sum.Problems, Problem{Path: r, Reasons: []string{"library root: " + err.Error()}})
			continue
		}
		absRoots = append(absRoots, filepath.Clean(a))
	}
	if err := sc.loadKnown(); err != nil {
		return err
	}

	w := newWalker(sc.ctx.Err)
	var walked []string
	for _, r := range absRoots {
		if w.walkRoot(r) {
			walked = append(walked, r)
		}
	}
	sc.sum.Problems = append(sc.sum.Problems, w.problems...)
	if err := sc.ctx.Err(); err != nil {
		return err
	}
	sc.prog.FilesTotal = len(w.entries)

	var metaJobs []*walkEntry
	var probeJobs []*walkEntry
	for i := range w.entries {
		e := &w.entries[i]
		k := sc.known[e.path]
		if k != nil {
			k.seen = true
		}
		if k == nil || k.status == StatusMissing || k.recheck || k.size != e.size || k.mtimeNs != e.mtimeNs {
			probeJobs = append(probeJobs, e)
			continue
		}
		if k.sidecarSig != e.sidecarSig {
			metaJobs = append(metaJobs, e)
			continue
		}
		sc.sum.Unchanged++
		var warnings []string
		_ = json.Unmarshal([]byte(k.warnings), &warnings)
		if k.status == StatusUnplayable {
			warnings = append([]string{k.reason}, warnings...)
		}
		if len(warnings) > 0 {
			sc.sum.Problems = append(sc.sum.Problems, Problem{Path: e.path, Reasons: warnings})
		}
	}
	sc.prog.FilesSeen = sc.sum.Unchanged
	sc.report("")

	sc.vanished = map[string][]*knownAsset{}
	for _, k := range sc.known {
		if !k.seen && k.sha != "" && underAny(k.path, walked) && !underAny(k.path, w.unreadable) {
			sc.vanished[k.sha] = append(sc.vanished[k.sha], k)
		}
	}
	for _, l := range sc.vanished {
		// Deterministic choice among duplicates: the lowest id first.
		sort.Slice(l, func(i, j int) bool { return l[i].id < l[j].id })
	}

	if err := sc.updateMeta(metaJobs); err != nil {
		return err
	}
	if err := sc.probeAll(probeJobs); err != nil {
		return err
	}
	if err := sc.ctx.Err(); err != nil {
		return err
	}
	return sc.markMissing(walked, w.unreadable)
}

// loadKnown reads every asset's identity and change markers in one query.
func (sc *scanRun) loadKnown() error {
	rows, err := sc.store.w.QueryContext(sc.ctx, `SELECT id, path, size, mtime_ns, sidecar_sig, status, reason,
		warnings, recheck, sha256 FROM assets`)
	if err != nil {
		return fmt.Errorf("scan: load assets: %w", err)
	}
	defer rows.Close()
	sc.known = map[string]*knownAsset{}
	for rows.Next() {
		k := &knownAsset{}
		if err := rows.Scan(&k.id, &k.path, &k.size, &k.mtimeNs, &k.sidecarSig, &k.status, &k.reason,
			&k.warnings, &k.recheck, &k.sha); err != nil {
			return fmt.Errorf("scan: load assets: %w", err)
		}
		sc.known[k.path] = k
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan: load assets: %w", err)
	}
	return nil
}

func (sc *scanRun) report(path string) {
	if sc.progress == nil {
		return
	}
	p := sc.prog
	p.Path = path
	if sc.store.opts.Now != nil {
		if el := sc.store.opts.Now().Sub(sc.start).Seconds(); el > 0 {
			p.FilesPerSecond = float64(p.FilesSeen) / el
			p.MBPerSecond = float64(p.BytesRead) / 1e6 / el
		}
	}
	sc.progress(p)
}

// updateMeta re-reads the sidecars of files whose media is unchanged.
func (sc *scanRun) updateMeta(jobs []*walkEntry) error {
	for len(jobs) > 0 {
		n := min(len(jobs), writeBatchSize)
		batch := jobs[:n]
		jobs = jobs[n:]
		err := sc.inTx(func(tx *sql.Tx) error {
			for _, e := range batch {
				m := deriveMeta(e)
				k := sc.known[e.path]
				if _, err := tx.ExecContext(sc.ctx, `UPDATE assets SET sidecar_sig = ?, kind = ?, show = ?, season = ?,
					episode = ?, title = ?, tags = ?, rating = ?, description = ?, cues_sidecar = ?, warnings = ?, scanned_ns = ? WHERE id = ?`,
					e.sidecarSig, string(m.kind), m.show, m.season, m.episode, m.title, jsonText(m.tags), m.rating, m.desc,
					jsonText(m.cues), jsonText(m.warnings), sc.store.nowNs(), k.id); err != nil {
					return err
				}
				sc.sum.Updated++
				if len(m.warnings) > 0 || k.status == StatusUnplayable {
					p := Problem{Path: e.path, Reasons: m.warnings}
					if k.status == StatusUnplayable {
						p.Reasons = append([]string{k.reason}, p.Reasons...)
					}
					sc.sum.Problems = append(sc.sum.Problems, p)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan: update sidecars: %w", err)
		}
		sc.prog.FilesSeen += n
		sc.report(batch[n-1].path)
	}
	return nil
}

// probeOutcome is the result of reading one file.
type probeOutcome struct {
	entry     *walkEntry
	meta      assetMeta
	res       probeResult
	sha       string
	bytesRead int64
	// retry is set when the problem may go away without the file changing (I/O error,
	// changed during scan): the file is read again on the next scan.
	retry    bool
	canceled bool
}

// probeAll reads the files on Options.Workers goroutines and writes the results from this
// one, in transactions of up to writeBatchSize rows.
func (sc *scanRun) probeAll(entries []*walkEntry) error {
	if len(entries) == 0 {
		return nil
	}
	workers := min(sc.store.opts.Workers, len(entries))
	jobs := make(chan *walkEntry)
	results := make(chan probeOutcome, workers)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for _, e := range entries {
			select {
			case jobs <- e:
			case <-sc.ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				o := probeEntry(sc.ctx, e, sc.store.opts.afterRead)
				select {
				case results <- o:
				case <-sc.ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var werr error
	batch := make([]probeOutcome, 0, writeBatchSize)
	for o := range results {
		if werr != nil {
			continue // drain until the workers have stopped
		}
		batch = append(batch[:0], o)
	drain:
		for len(batch) < writeBatchSize {
			select {
			case o2, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, o2)
			default:
				break drain
			}
		}
		if err := sc.writeOutcomes(batch); err != nil {
			werr = err
			sc.cancel()
		}
	}
	return werr
}

// assetWriteColumns are the columns set from a probe outcome, in the order of outcomeArgs.
const assetWriteColumns = `path, size, mtime_ns, sidecar_sig, recheck, sha256, container, duration_ticks,
	video_codec, video_profile, video_level, width, height, frame_rate_num, frame_rate_den, b_frames,
	audio_codec, sample_rate, channels, kind, show, season, episode, title, tags, rating, description, cues_sidecar,
	cues_chapters, warnings, keyframe_count, keyframes, status, reason, scanned_ns`

func (sc *scanRun) outcomeArgs(o *probeOutcome) []any {
	e, r, m := o.entry, &o.res, &o.meta
	var v VideoInfo
	if r.video != nil {
		v = *r.video
	}
	var a AudioInfo
	if r.audio != nil {
		a = *r.audio
	}
	status, reason := StatusOK, ""
	if r.problem != "" {
		status, reason = StatusUnplayable, r.problem
	}
	var kf []byte
	if r.index.Len() > 0 {
		kf = r.index.Encode()
	}
	return []any{
		e.path, e.size, e.mtimeNs, e.sidecarSig, o.retry, o.sha, r.container, r.duration,
		v.Codec, v.Profile, v.Level, v.Width, v.Height, v.FrameRate.Num, v.FrameRate.Den, v.BFrames,
		a.Codec, a.SampleRate, a.Channels, string(m.kind), m.show, m.season, m.episode, m.title, jsonText(m.tags), m.rating, m.desc,
		jsonText(m.cues), jsonText(r.chapters), jsonText(m.warnings), r.index.Len(), kf, string(status), reason,
		sc.store.nowNs(),
	}
}

var (
	insertAssetSQL = `INSERT INTO assets (` + assetWriteColumns + `, added_ns) VALUES (` + placeholders(36) + `)`
	updateAssetSQL = `UPDATE assets SET (` + assetWriteColumns + `) = (` + placeholders(35) + `) WHERE id = ?`
)

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

// writeOutcomes writes a batch of probe outcomes in one transaction.
func (sc *scanRun) writeOutcomes(batch []probeOutcome) error {
	err := sc.inTx(func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(sc.ctx, insertAssetSQL)
		if err != nil {
			return err
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(sc.ctx, updateAssetSQL)
		if err != nil {
			return err
		}
		defer upd.Close()
		for i := range batch {
			o := &batch[i]
			if o.canceled {
				continue
			}
			args := sc.outcomeArgs(o)
			if k := sc.known[o.entry.path]; k != nil {
				if _, err := upd.ExecContext(sc.ctx, append(args, k.id)...); err != nil {
					return err
				}
				sc.sum.Updated++
			} else if k := sc.takeVanished(o.sha); k != nil {
				if _, err := upd.ExecContext(sc.ctx, append(args, k.id)...); err != nil {
					return err
				}
				sc.sum.Moved++
			} else {
				if _, err := ins.ExecContext(sc.ctx, append(args, sc.store.nowNs())...); err != nil {
					return err
				}
				sc.sum.Added++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan: write assets: %w", err)
	}
	for i := range batch {
		o := &batch[i]
		if o.canceled {
			continue
		}
		var reasons []string
		if o.res.problem != "" {
			reasons = append(reasons, o.res.problem)
		}
		reasons = append(reasons, o.meta.warnings...)
		if len(reasons) > 0 {
			sc.sum.Problems = append(sc.sum.Problems, Problem{Path: o.entry.path, Reasons: reasons})
		}
		sc.prog.FilesSeen++
		sc.prog.FilesRead++
		sc.prog.BytesRead += o.bytesRead
		sc.report(o.entry.path)
	}
	return nil
}

// takeVanished returns a vanished asset with the given SHA-256 that no other file has taken.
func (sc *scanRun) takeVanished(sha string) *knownAsset {
	if sha == "" {
		return nil
	}
	for _, k := range sc.vanished[sha] {
		if !k.taken {
			k.taken = true
			return k
		}
	}
	return nil
}

// markMissing marks the known assets under the walked roots that the walk did not find
// (and no moved file took) as missing.
func (sc *scanRun) markMissing(walked, unreadable []string) error {
	var ids []int64
	for _, k := range sc.known {
		if !k.seen && !k.taken && k.status != StatusMissing && underAny(k.path, walked) && !underAny(k.path, unreadable) {
			ids = append(ids, k.id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for len(ids) > 0 {
		n := min(len(ids), writeBatchSize)
		batch := ids[:n]
		ids = ids[n:]
		err := sc.inTx(func(tx *sql.Tx) error {
			for _, id := range batch {
				if _, err := tx.ExecContext(sc.ctx, `UPDATE assets SET status = 'missing', reason = 'file not found',
					scanned_ns = ? WHERE id = ?`, sc.store.nowNs(), id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan: mark missing: %w", err)
		}
		sc.sum.Missing += n
	}
	return nil
}

// inTx runs fn in a write transaction.
func (sc *scanRun) inTx(fn func(tx *sql.Tx) error) error {
	tx, err := sc.store.w.BeginTx(sc.ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// jsonText encodes v as JSON, with nil slices as [].
func jsonText[T any](v []T) string {
	if v == nil {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "[]"
	}
	return string(b)
}

// mergeProblems joins problems of the same path and sorts them by path.
func mergeProblems(ps []Problem) []Problem {
	byPath := map[string]int{}
	out := []Problem{}
	for _, p := range ps {
		if i, ok := byPath[p.Path]; ok {
			out[i].Reasons = append(out[i].Reasons, p.Reasons...)
			continue
		}
		byPath[p.Path] = len(out)
		out = append(out, Problem{Path: p.Path, Reasons: append([]string(nil), p.Reasons...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ctxReader fails reads once its context is done, so that a canceled scan stops reading
// large files.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// probeEntry hashes and probes one file. It never panics: a panic in a parser is recorded
// as the file's problem.
func probeEntry(ctx context.Context, e *walkEntry, afterRead func(string)) (o probeOutcome) {
	o.entry = e
	o.meta = deriveMeta(e)
	if e.problem != "" {
		o.res = probeResult{container: e.container, problem: e.problem}
		o.retry = e.retry
		return o
	}
	defer func() {
		if r := recover(); r != nil {
			o.res = probeResult{container: e.container, problem: fmt.Sprintf("probe failed: panic: %v", r)}
			o.sha = ""
		}
	}()
	fail := func(reason string) probeOutcome {
		o.res = probeResult{container: e.container, problem: reason}
		o.retry = true
		o.sha = ""
		return o
	}
	f, err := openMedia(e.path)
	if err != nil {
		return fail("unreadable: " + errText(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fail("unreadable: " + errText(err))
	}
	if !fi.Mode().IsRegular() {
		o.res.problem = "not a regular file"
		return o
	}
	h := sha256.New()
	cr := &ctxReader{ctx: ctx, r: f}
	var n int64
	switch e.container {
	case ContainerTS:
		o.res, n, err = probeTS(cr, h)
	case ContainerMP4:
		o.res, err = probeMP4(f, fi.Size())
		if err == nil {
			if _, err = f.Seek(0, io.SeekStart); err == nil {
				bufp := tsChunkPool.Get().(*[]byte)
				n, err = io.CopyBuffer(h, cr, *bufp)
				tsChunkPool.Put(bufp)
			}
		}
	default:
		o.res.problem = "unsupported container"
		return o
	}
	o.bytesRead = n
	if ctx.Err() != nil {
		o.canceled = true
		return o
	}
	if err != nil {
		return fail("read error: " + errText(err))
	}
	if afterRead != nil {
		afterRead(e.path)
	}
	fi2, err := os.Stat(e.path)
	if err != nil || fi2.Size() != e.size || fi2.ModTime().UnixNano() != e.mtimeNs || n != e.size {
		return fail("changed during scan")
	}
	o.sha = hex.EncodeToString(h.Sum(nil))
	return o
}

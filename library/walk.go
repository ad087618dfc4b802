package library

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// probedExts are the extensions of files that are probed, by container.
var probedExts = map[string]string{
	".ts": ContainerTS, ".m2ts": ContainerTS, ".mts": ContainerTS,
	".mp4": ContainerMP4, ".m4v": ContainerMP4, ".mov": ContainerMP4,
}

// unsupportedExts are media files that are recorded, without being read, as unplayable.
var unsupportedExts = map[string]bool{
	".mkv": true, ".webm": true, ".avi": true, ".mpg": true, ".mpeg": true, ".vob": true,
	".wmv": true, ".asf": true, ".flv": true, ".ogv": true, ".ogg": true, ".3gp": true,
	".mp3": true, ".aac": true, ".m4a": true, ".wav": true, ".flac": true, ".opus": true,
	".mxf": true, ".divx": true,
}

// walkEntry is a media file found by the walk.
type walkEntry struct {
	path string // absolute
	rel  string // slash-separated, relative to its root
	// size and mtime of the file (of a symlink's target).
	size    int64
	mtimeNs int64
	// sidecarSig is the sizes and mtimes of the sidecars ("" when there are none).
	sidecarSig string
	cuePath    string
	metaPath   string
	container  string
	// problem is set for files that are recorded without being read.
	problem string
	// retry marks problems that may go away without the file changing.
	retry bool
}

// walker lists the media files under the library roots.
//
// Directories are read with os.ReadDir, one lstat per entry; nothing else touches the disk.
// Names starting with "." are skipped. Symbolic links are followed: a link to a file is that
// file, a link to a directory is walked unless it leads back into a directory being walked
// (a loop, reported as a problem) or one already walked.
type walker struct {
	entries  []walkEntry
	problems []Problem
	// unreadable are directories that could not be read: their known assets are not
	// marked missing.
	unreadable []string
	seenFiles  map[string]bool
	seenDirs   map[fileID]bool
	stack      map[fileID]bool
	ctxErr     func() error
}

type fileID struct{ dev, ino uint64 }

func fileIDOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true //nolint:unconvert // types differ by platform
}

func newWalker(ctxErr func() error) *walker {
	return &walker{
		seenFiles: map[string]bool{},
		seenDirs:  map[fileID]bool{},
		stack:     map[fileID]bool{},
		ctxErr:    ctxErr,
	}
}

func (w *walker) problem(p, reason string) {
	w.problems = append(w.problems, Problem{Path: p, Reasons: []string{reason}})
}

// walkRoot walks one root, which must be an absolute, clean path. It returns false when the
// root itself cannot be read.
func (w *walker) walkRoot(root string) bool {
	fi, err := os.Stat(root)
	if err != nil {
		w.problem(root, "library root: "+errText(err))
		return false
	}
	if !fi.IsDir() {
		w.problem(root, "library root is not a directory")
		return false
	}
	return w.walkDir(root, "", fi)
}

// walkDir walks dir (rel from the root), whose FileInfo (following links) is fi.
func (w *walker) walkDir(dir, rel string, fi fs.FileInfo) bool {
	if err := w.ctxErr(); err != nil {
		return false
	}
	id, hasID := fileIDOf(fi)
	if hasID {
		if w.seenDirs[id] {
			return true
		}
		w.seenDirs[id] = true
		w.stack[id] = true
		defer delete(w.stack, id)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.unreadable = append(w.unreadable, dir)
		w.problem(dir, "unreadable directory: "+errText(err))
		if len(ents) == 0 {
			return false
		}
	}

	// Sidecars of this directory, by name.
	sidecars := map[string]fs.FileInfo{}
	for _, e := range ents {
		if isSidecar(e.Name()) && e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				sidecars[e.Name()] = info
			}
		}
	}

	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || isSidecar(name) {
			continue
		}
		full := filepath.Join(dir, name)
		relp := path.Join(rel, name)
		typ := e.Type()
		switch {
		case typ.IsDir():
			info, err := e.Info()
			if err != nil {
				w.unreadable = append(w.unreadable, full)
				w.problem(full, "unreadable directory: "+errText(err))
				continue
			}
			w.walkDir(full, relp, info)
		case typ&fs.ModeSymlink != 0:
			info, err := os.Stat(full)
			if err != nil {
				if mediaExt(name) {
					reason := "broken symbolic link: " + errText(err)
					if errors.Is(err, syscall.ELOOP) {
						reason = "symbolic link loop"
					}
					w.add(full, relp, name, nil, sidecars, reason, false)
				}
				continue
			}
			if info.IsDir() {
				if id, ok := fileIDOf(info); ok && w.stack[id] {
					w.problem(full, "symbolic link loop: leads back to a directory being walked")
					continue
				}
				w.walkDir(full, relp, info)
				continue
			}
			w.file(full, relp, name, info, sidecars)
		default:
			if !mediaExt(name) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				w.add(full, relp, name, nil, sidecars, "stat: "+errText(err), true)
				continue
			}
			w.file(full, relp, name, info, sidecars)
		}
	}
	return true
}

// mediaExt reports whether a file name has a probed or a recognised-but-unsupported extension.
func mediaExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return probedExts[ext] != "" || unsupportedExts[ext]
}

// file handles a non-directory with FileInfo info (following links).
func (w *walker) file(full, rel, name string, info fs.FileInfo, sidecars map[string]fs.FileInfo) {
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case !info.Mode().IsRegular():
		if mediaExt(name) {
			w.add(full, rel, name, info, sidecars, "not a regular file", false)
		}
	case probedExts[ext] != "":
		w.add(full, rel, name, info, sidecars, "", false)
	case unsupportedExts[ext]:
		w.add(full, rel, name, info, sidecars, "unsupported container "+strings.TrimPrefix(ext, "."), false)
	}
}

// add records an entry.
func (w *walker) add(full, rel, name string, info fs.FileInfo, sidecars map[string]fs.FileInfo, problem string, retry bool) {
	if w.seenFiles[full] {
		return
	}
	w.seenFiles[full] = true
	e := walkEntry{path: full, rel: rel, problem: problem, retry: retry}
	e.container = probedExts[strings.ToLower(filepath.Ext(name))]
	if info != nil {
		e.size = info.Size()
		e.mtimeNs = info.ModTime().UnixNano()
	}
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	var sig strings.Builder
	if ci, ok := sidecars[stem+cueSuffix]; ok {
		e.cuePath = filepath.Join(filepath.Dir(full), stem+cueSuffix)
		sig.WriteString("cue:" + strconv.FormatInt(ci.Size(), 10) + ":" + strconv.FormatInt(ci.ModTime().UnixNano(), 10))
	}
	if mi, ok := sidecars[stem+metaSuffix]; ok {
		e.metaPath = filepath.Join(filepath.Dir(full), stem+metaSuffix)
		sig.WriteString(" meta:" + strconv.FormatInt(mi.Size(), 10) + ":" + strconv.FormatInt(mi.ModTime().UnixNano(), 10))
	}
	e.sidecarSig = sig.String()
	w.entries = append(w.entries, e)
}

// errText returns an error's text without the path an *fs.PathError repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// underAny reports whether p is one of dirs or inside one of them.
func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// Package web serves onair's web app: plain HTML pages over the JSON API
// (channels with now/next, the guide grid, a player, the operator page and
// the library), with their scripts, styles and player libraries (hls.js,
// dash.js, from npm at build time: `make web`) embedded in the binary.
// Nothing is fetched from elsewhere at run time.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// pages maps the app's routes to their HTML files.
var pages = map[string]string{
	"GET /{$}":        "index.html",
	"GET /guide":      "guide.html",
	"GET /watch/{id}": "watch.html",
	"GET /operator":   "operator.html",
	"GET /library":    "library.html",
}

// Handler serves the web app.
type Handler struct {
	files fs.FS
}

// New returns the web app's handler.
func New() *Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return &Handler{files: sub}
}

// Register adds the app's pages and /static/ to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for pattern, file := range pages {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { h.page(w, r, file) })
	}
	mux.HandleFunc("GET /static/{file...}", h.asset)
}

// page serves an HTML page; the pages are small and revalidated each time.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, file string) {
	b, err := fs.ReadFile(h.files, file)
	if err != nil {
		http.Error(w, "page missing from the build: "+file, http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: http: https:; media-src 'self' blob:; "+
		"worker-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'")
	_, _ = w.Write(b)
}

// asset serves a file under static/: the player libraries are cached for a
// day, the app's own files revalidated.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "" || strings.Contains(name, "..") || !fs.ValidPath(name) || strings.HasSuffix(name, ".html") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(h.files, name); err != nil {
		http.Error(w, "no such file: /static/"+name, http.StatusNotFound)
		return
	}
	if path.Dir(name) == "vendor" {
		w.Header().Set("Cache-Control", "public, max-age=86400")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, h.files, name)
}

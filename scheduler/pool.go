package scheduler

import (
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"onair/library"
)

// resolve lists the snapshot's assets in pool, in play order: the explicit
// list as written, otherwise by show, season, episode and path.
func (s *LibrarySnapshot) resolve(pool *Pool) []*library.Asset {
	if pool == nil {
		return nil
	}
	var out []*library.Asset
	if len(pool.Assets) > 0 {
		for _, rel := range pool.Assets {
			if a := s.byPath(rel); a != nil {
				out = append(out, a)
			}
		}
		return out
	}
	for i := range s.assets {
		if pool.matches(&s.assets[i]) {
			out = append(out, &s.assets[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Show != b.Show {
			return a.Show < b.Show
		}
		if a.Season != b.Season {
			return a.Season < b.Season
		}
		if a.Episode != b.Episode {
			return a.Episode < b.Episode
		}
		return a.Path < b.Path
	})
	return out
}

// matches reports whether a meets every criterion of the pool.
func (p *Pool) matches(a *library.Asset) bool {
	if len(p.Kind) > 0 && !slices.Contains([]string(p.Kind), string(a.Kind)) {
		return false
	}
	if p.Show != "" && !strings.EqualFold(p.Show, a.Show) {
		return false
	}
	if p.Season != 0 && p.Season != a.Season {
		return false
	}
	for _, t := range p.Tags {
		if !slices.ContainsFunc(a.Tags, func(at string) bool { return strings.EqualFold(at, t) }) {
			return false
		}
	}
	if len(p.Rating) > 0 && !slices.ContainsFunc([]string(p.Rating), func(r string) bool { return strings.EqualFold(r, a.Rating) }) {
		return false
	}
	if p.Path != "" {
		// The glob matches as many trailing path elements as it has.
		parts := strings.Split(filepath.ToSlash(a.Path), "/")
		n := strings.Count(p.Path, "/") + 1
		if n > len(parts) {
			return false
		}
		if ok, _ := path.Match(p.Path, strings.Join(parts[len(parts)-n:], "/")); !ok {
			return false
		}
	}
	return true
}

// byPath finds the asset whose path ends with rel (a path relative to a root).
func (s *LibrarySnapshot) byPath(rel string) *library.Asset {
	return library.FindByRelPath(s.assets, rel)
}

// slug lowercases s and keeps letters and digits, for matching promos to shows.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// promotes reports whether promo a is about show: its show, a tag or its
// file name names it.
func promotes(a *library.Asset, show string) bool {
	if show == "" {
		return false
	}
	if strings.EqualFold(a.Show, show) {
		return true
	}
	for _, t := range a.Tags {
		if strings.EqualFold(t, show) {
			return true
		}
	}
	return strings.Contains(slug(filepath.Base(a.Path)), slug(show))
}

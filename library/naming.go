package library

import (
	"path"
	"regexp"
	"strconv"
	"strings"
)

// kindFolders maps a top-level folder name under a library root (lower case) to its kind.
var kindFolders = map[string]Kind{
	"shows":   KindEpisode,
	"movies":  KindMovie,
	"ads":     KindAd,
	"bumpers": KindBumper,
	"promos":  KindPromo,
	"slates":  KindSlate,
	"slate":   KindSlate,
	"filler":  KindFiller,
}

// KindForFolder returns the kind of the assets under a top-level folder of a library root:
// shows → episode, movies → movie, ads → ad, bumpers → bumper, promos → promo,
// slates or slate → slate, filler → filler, anything else → program. Case is ignored.
func KindForFolder(name string) Kind {
	if k, ok := kindFolders[strings.ToLower(name)]; ok {
		return k
	}
	return KindProgram
}

// ParsedName is what a file's path says about it.
type ParsedName struct {
	Kind    Kind
	Show    string
	Season  int
	Episode int
	Title   string
}

var (
	// episodeRe matches "S01E02" (also "s1e2", "S01.E02", "S01E02E03") and "1x02".
	episodeRe = regexp.MustCompile(`(?i)(?:^|[\s._\-\[(])(?:s(\d{1,3})[\s._-]?e(\d{1,4})(?:[\s._-]?e\d{1,4})*|(\d{1,2})x(\d{2,3}))(?:$|[\s._\-\])])`)
	// seasonDirRe matches a season folder such as "Season 01", "Series 2", "S03".
	seasonDirRe = regexp.MustCompile(`(?i)^(?:season|series|saison|staffel|s)[\s._-]*(\d{1,3})$`)
)

// ParseName parses a slash-separated path relative to a library root, such as
// "shows/Show/Season 01/Show - S01E02 - Title.mp4": the kind from its top-level folder, the
// show from the folder above a season folder or the part of the file name before SxxEyy,
// season and episode from SxxEyy (or NxMM, or the season folder), and the title from the
// part after it, or else the whole file name without its extension.
func ParseName(rel string) ParsedName {
	parts := strings.Split(strings.Trim(path.Clean("/"+rel), "/"), "/")
	file := parts[len(parts)-1]
	dirs := parts[:len(parts)-1]
	base := strings.TrimSuffix(file, path.Ext(file))

	var p ParsedName
	p.Kind = KindProgram
	kindDir := false
	if len(dirs) > 0 {
		p.Kind = KindForFolder(dirs[0])
		_, kindDir = kindFolders[strings.ToLower(dirs[0])]
	}
	// below is the part of dirs under the kind folder.
	below := dirs
	if kindDir {
		below = dirs[1:]
	}

	showDir := ""
	if n := len(below); n > 0 {
		if m := seasonDirRe.FindStringSubmatch(below[n-1]); m != nil {
			p.Season, _ = strconv.Atoi(m[1])
			if n > 1 {
				showDir = below[n-2]
			}
		} else if strings.EqualFold(below[n-1], "specials") {
			if n > 1 {
				showDir = below[n-2]
			}
		}
	}

	var prefix, title string
	if loc := episodeRe.FindStringSubmatchIndex(base); loc != nil {
		sub := func(i int) string {
			if loc[2*i] < 0 {
				return ""
			}
			return base[loc[2*i]:loc[2*i+1]]
		}
		s, e := sub(1), sub(2)
		if s == "" {
			s, e = sub(3), sub(4)
		}
		p.Season, _ = strconv.Atoi(s)
		p.Episode, _ = strconv.Atoi(e)
		prefix = cleanNamePart(base[:loc[0]])
		title = cleanNamePart(base[loc[1]:])
		if title == "" {
			title = cleanNamePart(base)
		}
	} else {
		title = cleanNamePart(base)
	}
	p.Title = title

	switch {
	case showDir != "":
		p.Show = showDir
	case prefix != "":
		p.Show = prefix
	case p.Kind == KindEpisode && len(below) > 0:
		p.Show = below[0]
	}
	return p
}

// cleanNamePart trims separators and, in names written without spaces ("The.Show.Title"),
// turns dots and underscores into spaces.
func cleanNamePart(s string) string {
	if !strings.Contains(s, " ") {
		s = strings.NewReplacer(".", " ", "_", " ").Replace(s)
	}
	return strings.Trim(s, " -._")
}

package library

import "strings"

// ValidKind reports whether s names a Kind.
func ValidKind(s string) bool { return Kind(s).Valid() }

// ValidStatus reports whether s names a Status.
func ValidStatus(s string) bool {
	switch Status(s) {
	case StatusOK, StatusUnplayable, StatusMissing:
		return true
	}
	return false
}

// KindNames lists the kinds for messages: "program, episode, ...".
func KindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

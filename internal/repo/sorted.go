package repo

import (
	"sort"
	"strings"
)

// The paths of Git's index and of a commit's file list sort byte by byte,
// and the paths under a directory, those that start with its own and a
// slash, sort together: a directory is a range of them, found by binary
// search. A map per path or per directory cost as much to build, for an
// index of a thousand files, as the rest of reading it.

// searchPath looks p up in n paths sorted byte by byte (path(i) is the
// i-th): the index of p when it is one of them; else, when some lie under
// p as a directory, the index of the first; else ok is false.
func searchPath(n int, path func(int) string, p string) (i int, dir, ok bool) {
	i = sort.Search(n, func(k int) bool { return path(k) >= p })
	if i < n && path(i) == p {
		return i, false, true
	}
	// Between p and its files may sort others ("p-1", "p.d"): '/' sorts
	// after them.
	prefix := p + "/"
	i += sort.Search(n-i, func(k int) bool { return path(i+k) >= prefix })
	if i < n && strings.HasPrefix(path(i), prefix) {
		return i, true, true
	}
	return 0, false, false
}

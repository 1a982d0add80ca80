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
	if lo, hi := pathsUnder(n, path, p); lo < hi {
		return lo, true, true
	}
	return 0, false, false
}

// pathsUnder returns the range [lo, hi) of the n sorted paths that lie
// under the directory dir ("." for all of them). Between dir and its
// paths may sort others ("dir-1", "dir.d"): '/' sorts after them.
func pathsUnder(n int, path func(int) string, dir string) (lo, hi int) {
	if dir == "." {
		return 0, n
	}
	prefix := dir + "/"
	lo = sort.Search(n, func(k int) bool { return path(k) >= prefix })
	hi = lo + sort.Search(n-lo, func(k int) bool { return !strings.HasPrefix(path(lo+k), prefix) })
	return lo, hi
}

package render

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// Shard is the part I of N (1 ≤ I ≤ N) a job of a CI matrix takes of the
// roots: --shard I/N. The zero Shard is the whole.
type Shard struct{ I, N int }

// ParseShard reads "i/n".
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("--shard must be i/n, as 2/4, got %q", s)
	case n < 1:
		return Shard{}, fmt.Errorf("--shard %q: there must be at least one shard", s)
	case i < 1 || i > n:
		return Shard{}, fmt.Errorf("--shard %q: the part must be from 1 to %d", s, n)
	}
	return Shard{I: i, N: n}, nil
}

// Whole tells whether the shard is all of the work.
func (s Shard) Whole() bool { return s.N <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Take returns the keys of weights that fall in this shard. Every shard of
// a split computes the same assignment from the same weights, so the
// shards together take each key exactly once: the heaviest key first, each
// onto the shard carrying the least weight so far (the lowest-numbered on
// a tie), keys of equal weight in the order of their hashes, so that
// neighbouring paths spread over the shards.
func (s Shard) Take(weights map[string]int) map[string]bool {
	type item struct {
		key    string
		weight int
		hash   uint64
	}
	items := make([]item, 0, len(weights))
	for k, w := range weights {
		h := fnv.New64a()
		h.Write([]byte(k))
		items = append(items, item{k, w, h.Sum64()})
	}
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(b.weight, a.weight), cmp.Compare(a.hash, b.hash), strings.Compare(a.key, b.key))
	})
	n := max(s.N, 1)
	load := make([]int, n)
	out := map[string]bool{}
	for _, it := range items {
		least := 0
		for j := 1; j < n; j++ {
			if load[j] < load[least] {
				least = j
			}
		}
		load[least] += max(it.weight, 1)
		if least == max(s.I, 1)-1 {
			out[it.key] = true
		}
	}
	return out
}

// Weights returns what rendering each root costs, as the number of the
// repository's files its inputs hold (at least 1), keyed by Root.Key.
func (r *Repository) Weights(roots []Root) map[string]int {
	sorted := r.sortedFiles()
	out := make(map[string]int, len(roots))
	for _, root := range roots {
		n := 0
		in := r.Inputs(root)
		if in.Unbounded != "" {
			n = len(sorted)
		}
		for _, p := range in.Paths {
			n += len(filesAt(sorted, p))
		}
		out[root.Key()] = max(n, 1)
	}
	return out
}

// Holders returns, for each of files some root of roots may read, the key
// of the first such root in key order: the root whose shard checks the
// file. Roots built from another revision hold none of this tree's files.
func (r *Repository) Holders(roots []Root, files []string) map[string]string {
	sorted := slices.Sorted(slices.Values(files))
	byKey := slices.SortedFunc(slices.Values(roots), func(a, b Root) int { return strings.Compare(a.Key(), b.Key()) })
	out := map[string]string{}
	for _, root := range byKey {
		in := r.Inputs(root)
		for _, p := range in.Paths {
			for _, f := range filesAt(sorted, p) {
				if _, ok := out[f]; !ok {
					out[f] = root.Key()
				}
			}
		}
		if k := root.Kustomization; k != nil {
			if _, ok := slices.BinarySearch(sorted, k.Object.File); ok {
				if _, ok := out[k.Object.File]; !ok {
					out[k.Object.File] = root.Key()
				}
			}
		}
	}
	return out
}

// FilesOf returns the files of files this shard checks: those whose
// holder (Holders) it takes, and the files no root reads that hash to it.
func (s Shard) FilesOf(files []string, holders map[string]string, taken map[string]bool) []string {
	out := []string{}
	for _, f := range files {
		if k, ok := holders[f]; ok {
			if taken[k] {
				out = append(out, f)
			}
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(f))
		if int(h.Sum64()%uint64(max(s.N, 1))) == max(s.I, 1)-1 {
			out = append(out, f)
		}
	}
	return out
}

// ShardOf keeps the roots of roots that shard s takes, balanced by their
// weights among roots; all of them when s is whole.
func (r *Repository) ShardOf(roots []Root, s Shard) []Root {
	if s.Whole() {
		return roots
	}
	mine := s.Take(r.Weights(roots))
	out := []Root{}
	for _, root := range roots {
		if mine[root.Key()] {
			out = append(out, root)
		}
	}
	return out
}

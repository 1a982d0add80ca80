package kfs

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// Op is the kind of question a render asked the filesystem.
type Op string

// The questions a render asks.
const (
	OpRead Op = "read" // a file's content
	OpStat Op = "stat" // whether a path exists and what it is
	OpList Op = "list" // a directory's entries
)

// Observation is one answer a render depended on. Value is the blob id for
// a read, "file", "dir" or "none" for a stat, and a digest of the entries for
// a list.
type Observation struct {
	Op    Op     `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Input is a file a render read.
type Input struct {
	Path string `json:"path"`
	Blob string `json:"blob"`
}

// Recorder keeps the observations of one render.
type Recorder struct {
	mu  sync.Mutex
	obs map[obsKey]string
}

type obsKey struct {
	op   Op
	path string
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{obs: map[obsKey]string{}} }

func (r *Recorder) add(op Op, p, v string) {
	r.mu.Lock()
	r.obs[obsKey{op, p}] = v
	r.mu.Unlock()
}

func (r *Recorder) read(p, blob string) { r.add(OpRead, p, blob) }

func (r *Recorder) stat(p string, k repo.Kind) { r.add(OpStat, p, kindValue(k)) }

func (r *Recorder) list(p string, es []repo.Entry) { r.add(OpList, p, ListDigest(es)) }

// Merge adds another recorder's observations to r.
func (r *Recorder) Merge(o *Recorder) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range o.obs {
		r.obs[k] = v
	}
}

// Observations returns what was observed, in a stable order.
func (r *Recorder) Observations() []Observation {
	r.mu.Lock()
	out := make([]Observation, 0, len(r.obs))
	for k, v := range r.obs {
		out = append(out, Observation{Op: k.op, Path: k.path, Value: v})
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Op < out[j].Op
	})
	return out
}

// Inputs returns the files read, by path.
func (r *Recorder) Inputs() []Input {
	var in []Input
	for _, o := range r.Observations() {
		if o.Op == OpRead {
			in = append(in, Input{Path: o.Path, Blob: o.Value})
		}
	}
	return in
}

func kindValue(k repo.Kind) string {
	switch k {
	case repo.File:
		return "file"
	case repo.Dir:
		return "dir"
	}
	return "none"
}

// ListDigest summarizes a directory listing: names and kinds.
func ListDigest(es []repo.Entry) string {
	h := sha256.New()
	for _, e := range es {
		h.Write([]byte(e.Name))
		h.Write([]byte{0, byte(e.Kind), 0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Holds tells whether every observation still holds in tree.
func Holds(tree repo.Tree, obs []Observation) bool {
	for _, o := range obs {
		if Observe(tree, o.Op, o.Path) != o.Value {
			return false
		}
	}
	return true
}

// Observe asks tree the question an observation answered.
func Observe(tree repo.Tree, op Op, p string) string {
	switch op {
	case OpRead:
		b, err := tree.Blob(p)
		if err != nil {
			return ""
		}
		return b
	case OpStat:
		k, err := tree.Stat(p)
		if err != nil {
			return kindValue(0)
		}
		return kindValue(k)
	case OpList:
		es, err := tree.ReadDir(p)
		if err != nil {
			return ""
		}
		return ListDigest(es)
	}
	return ""
}

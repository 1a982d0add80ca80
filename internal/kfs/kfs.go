// Package kfs presents a repo.Tree to kustomize as its filesys.FileSystem.
//
// It is the one door through which a render reads files, so it is where the
// render's safety rules live: nothing outside the repository is readable,
// kustomization files that name remote bases or resources are refused unless
// remote loading was allowed, and nothing can be written. It also records
// every fact a render depended on (files read, paths probed, directories
// listed), which is what makes the render cache and the affected-root
// selection exact.
package kfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

// FS is a read-only kustomize filesystem over a repo.Tree, presented at the
// absolute path Root. Use one FS per render root: it carries that root's
// generated files and its record of what was read.
type FS struct {
	tree        repo.Tree
	root        string
	allowRemote bool
	disk        filesys.FileSystem // for remote clones, only with allowRemote

	hide       func(rel string, dir bool) bool // files a Flux source leaves out of its artifact
	usedRemote bool

	ctx    context.Context // the render stops reading once it ends
	checks *Checks         // the limits on what one file and one root hold
	budget rootBudget

	mu      sync.Mutex
	overlay map[string][]byte // generated files, by relative path
	rec     *Recorder
	refused error // the first access refused, reported in place of kustomize's message
	quiet   bool  // refuse what kustomize would warn about (Quiet)
}

// Quiet makes the FS refuse a kustomization file kustomize warns about on
// standard error as it loads it (a deprecated field, ErrWouldWarn): a
// build made in case it is needed must print nothing.
func (f *FS) Quiet() { f.quiet = true }

// ErrWouldWarn is the error of a quiet FS's build that kustomize would
// have printed a warning in.
var ErrWouldWarn = errors.New("kustomize would print a warning")

// SetHidden makes the paths hide reports invisible, as a Flux source's
// ignore rules leave files out of the artifact kustomize-controller builds.
func (f *FS) SetHidden(hide func(rel string, dir bool) bool) { f.hide = hide }

// Guard bounds what the render reads with checks' limits, and stops it
// reading once ctx ends: kustomize's parser never looks at a context, but
// every file it parses comes through here.
func (f *FS) Guard(ctx context.Context, checks *Checks) { f.ctx, f.checks = ctx, checks }

// guard applies Guard's context and limits to a file read from the tree.
func (f *FS) guard(rel, blob string, data []byte) error {
	if f.ctx != nil {
		if err := f.ctx.Err(); err != nil {
			return err
		}
	}
	if f.checks == nil {
		return nil
	}
	shape, err := f.checks.file(rel, blob, data)
	if err != nil {
		return err
	}
	return f.budget.add(f.checks.limits, rel, int64(len(data)), shape)
}

// UsedRemote tells whether the render read a remote base kustomize cloned.
func (f *FS) UsedRemote() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usedRemote
}

// errExcluded is why a file of the tree is hidden: the Flux source's
// artifact leaves it out. To kustomize it does not exist.
var errExcluded error = excludedError{}

type excludedError struct{}

func (excludedError) Error() string {
	return "not in the Flux source's artifact: its ignore rules leave it out (without a .sourceignore or spec.ignore of its own, source-controller leaves out images and archives; a !pattern line keeps a file)"
}

func (excludedError) Is(target error) bool { return target == fs.ErrNotExist }

func (f *FS) hidden(rel string, k repo.Kind) bool {
	return f.hide != nil && rel != "." && f.hide(rel, k == repo.Dir)
}

// New returns an FS over tree presented at root (an absolute path). With
// allowRemote, kustomization files may name remote bases, which kustomize
// clones into temporary folders outside the repository.
func New(tree repo.Tree, root string, allowRemote bool) *FS {
	f := &FS{tree: tree, root: filepath.Clean(root), allowRemote: allowRemote, rec: NewRecorder(), overlay: map[string][]byte{}}
	if allowRemote {
		f.disk = filesys.MakeFsOnDisk()
	}
	return f
}

var _ filesys.FileSystem = (*FS)(nil)

// Root is the absolute path the repository is presented at.
func (f *FS) Root() string { return f.root }

// Tree is the tree the FS reads.
func (f *FS) Tree() repo.Tree { return f.tree }

// Recorder holds what this FS was asked.
func (f *FS) Recorder() *Recorder { return f.rec }

// Abs returns the absolute path of a repository-relative path.
func (f *FS) Abs(rel string) string {
	if rel == "." || rel == "" {
		return f.root
	}
	return filepath.Join(f.root, filepath.FromSlash(rel))
}

// SetFile places a generated file at rel, in front of the tree. The
// directory must exist in the tree.
func (f *FS) SetFile(rel string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.overlay[rel] = data
}

// Refused returns the first access this FS refused (a path leaving the
// repository, a remote base), or nil.
func (f *FS) Refused() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

func (f *FS) refuse(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refused == nil {
		f.refused = err
	}
	return err
}

// rel maps a path kustomize uses to a path relative to the repository. ok is
// false for a path outside it.
func (f *FS) rel(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.root, p)
	}
	p = filepath.Clean(p)
	if p == f.root {
		return ".", true
	}
	if strings.HasPrefix(p, f.root+string(filepath.Separator)) {
		return filepath.ToSlash(p[len(f.root)+1:]), true
	}
	return "", false
}

// remoteClone tells whether p lies in a folder kustomize cloned a remote
// base into.
func (f *FS) remoteClone(p string) bool {
	if f.disk == nil || !filepath.IsAbs(p) {
		return false
	}
	tmp := filepath.Clean(os.TempDir()) + string(filepath.Separator)
	if !strings.HasPrefix(p, tmp) || !strings.HasPrefix(p[len(tmp):], "kustomize-") {
		return false
	}
	f.mu.Lock()
	f.usedRemote = true
	f.mu.Unlock()
	return true
}

func (f *FS) outside(p string) error {
	return f.refuse(fmt.Errorf("%s %w", p, repo.ErrOutside))
}

// Generated returns the generated file at rel (SetFile), if there is one.
func (f *FS) Generated(rel string) ([]byte, bool) { return f.overlayFile(rel) }

func (f *FS) overlayFile(rel string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.overlay[rel]
	return d, ok
}

// overlayDirHas lists the generated files directly in the directory rel.
func (f *FS) overlayNames(rel string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for p := range f.overlay {
		if dir, name := splitRel(p); dir == rel {
			names = append(names, name)
		}
	}
	return names
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func splitRel(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ".", p
	}
	return p[:i], p[i+1:]
}

// stat returns the kind at rel, recording the probe.
func (f *FS) stat(rel string) (repo.Kind, error) {
	if _, ok := f.overlayFile(rel); ok {
		return repo.File, nil
	}
	k, err := f.tree.Stat(rel)
	if err == nil && f.hidden(rel, k) {
		k, err = 0, &fs.PathError{Op: "stat", Path: rel, Err: errExcluded}
	}
	f.rec.stat(rel, k)
	return k, err
}

// Exists reports whether p exists in the repository.
func (f *FS) Exists(p string) bool {
	if f.remoteClone(p) {
		return f.disk.Exists(p)
	}
	rel, ok := f.rel(p)
	if !ok {
		return false
	}
	_, err := f.stat(rel)
	return err == nil
}

// IsDir reports whether p is a directory of the repository.
func (f *FS) IsDir(p string) bool {
	if f.remoteClone(p) {
		return f.disk.IsDir(p)
	}
	rel, ok := f.rel(p)
	if !ok {
		return false
	}
	k, err := f.stat(rel)
	return err == nil && k == repo.Dir
}

// ReadFile returns the content of the file at p.
func (f *FS) ReadFile(p string) ([]byte, error) {
	if f.remoteClone(p) {
		data, err := f.disk.ReadFile(p)
		if err == nil {
			err = f.guard(p, "", data)
		}
		return data, err
	}
	rel, ok := f.rel(p)
	if !ok {
		return nil, f.outside(p)
	}
	if d, ok := f.overlayFile(rel); ok {
		return d, f.checkRemote(rel, d)
	}
	if f.hidden(rel, repo.File) {
		f.rec.stat(rel, 0)
		return nil, &fs.PathError{Op: "open", Path: p, Err: errExcluded}
	}
	data, err := f.tree.ReadFile(rel)
	if err != nil {
		if repo.IsOutside(err) {
			return nil, f.refuse(err)
		}
		f.rec.stat(rel, 0)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, &fs.PathError{Op: pe.Op, Path: p, Err: pe.Err}
		}
		return nil, err
	}
	blob, err := f.tree.Blob(rel)
	if err != nil {
		return nil, err
	}
	f.rec.read(rel, blob)
	if err := f.guard(rel, blob, data); err != nil {
		return nil, f.refuse(err)
	}
	if err := f.checkQuiet(rel, data); err != nil {
		return nil, err
	}
	return data, f.checkRemote(rel, data)
}

// checkQuiet refuses, in a quiet FS, a kustomization file kustomize would
// print a warning for, or one it cannot decode.
func (f *FS) checkQuiet(rel string, data []byte) error {
	if !f.quiet || !IsKustomizationFile(rel) {
		return nil
	}
	var k kustypes.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return f.refuse(ErrWouldWarn)
	}
	if w := k.CheckDeprecatedFields(); w != nil && len(*w) > 0 {
		return f.refuse(ErrWouldWarn)
	}
	return nil
}

// checkRemote refuses a kustomization file that names a remote base or
// resource, unless remote loading is allowed.
func (f *FS) checkRemote(rel string, data []byte) error {
	if f.allowRemote || !IsKustomizationFile(rel) {
		return nil
	}
	if ref, line, ok := FindRemote(data); ok {
		d := diag.Errorf(rel, line, "remote reference %q refused: a render reads only this repository (pass --allow-remote to fetch it)", ref)
		d.Err = ErrRemoteRefused
		return f.refuse(d)
	}
	return nil
}

// ErrRemoteRefused is in the chain of the error of a render that needed a
// remote base or resource, which it was not allowed to fetch: what the
// root renders is not known, not wrong.
var ErrRemoteRefused = errors.New("remote reference refused")

// ReadDir lists the names in the directory p.
func (f *FS) ReadDir(p string) ([]string, error) {
	if f.remoteClone(p) {
		return f.disk.ReadDir(p)
	}
	entries, err := f.list(p)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names, nil
}

// list returns the entries of the directory p, generated files included.
func (f *FS) list(p string) ([]repo.Entry, error) {
	rel, ok := f.rel(p)
	if !ok {
		return nil, f.outside(p)
	}
	entries, err := f.tree.ReadDir(rel)
	if err != nil {
		if repo.IsOutside(err) {
			return nil, f.refuse(err)
		}
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: fs.ErrNotExist}
	}
	if f.hide != nil {
		kept := entries[:0:0]
		for _, e := range entries {
			if !f.hidden(join(rel, e.Name), e.Kind) {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	f.rec.list(rel, entries)
	extra := f.overlayNames(rel)
	if len(extra) == 0 {
		return entries, nil
	}
	out := append([]repo.Entry(nil), entries...)
	for _, name := range extra {
		if !containsName(out, name) {
			out = append(out, repo.Entry{Name: name, Kind: repo.File})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func containsName(es []repo.Entry, name string) bool {
	for _, e := range es {
		if e.Name == name {
			return true
		}
	}
	return false
}

// CleanedAbs splits p, with symlinks followed, into a confirmed directory
// and a file name (empty when p is a directory), as kustomize expects.
func (f *FS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if f.remoteClone(p) {
		return f.disk.CleanedAbs(p)
	}
	rel, ok := f.rel(p)
	if !ok {
		return "", "", f.outside(p)
	}
	if _, ok := f.overlayFile(rel); ok {
		dir, name := splitRel(rel)
		return filesys.ConfirmedDir(f.Abs(dir)), name, nil
	}
	resolved, kind, err := f.tree.Resolve(rel)
	if err == nil && f.hidden(rel, kind) {
		kind, err = 0, &fs.PathError{Op: "lstat", Path: rel, Err: errExcluded}
	}
	f.rec.stat(rel, kind)
	if err != nil {
		if repo.IsOutside(err) {
			return "", "", f.refuse(err)
		}
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", p, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist})
	}
	if kind == repo.Dir {
		return filesys.ConfirmedDir(f.Abs(resolved)), "", nil
	}
	dir, name := splitRel(resolved)
	return filesys.ConfirmedDir(f.Abs(dir)), name, nil
}

// Glob returns the paths matching pattern, as filepath.Glob does.
func (f *FS) Glob(pattern string) ([]string, error) {
	if f.remoteClone(pattern) {
		return f.disk.Glob(pattern)
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	if !hasMeta(pattern) {
		if f.Exists(pattern) {
			return []string{pattern}, nil
		}
		return nil, nil
	}
	dir, file := filepath.Split(pattern)
	dir = cleanGlobDir(dir)
	dirs := []string{dir}
	if hasMeta(dir) {
		var err error
		if dirs, err = f.Glob(dir); err != nil {
			return nil, err
		}
	}
	var matches []string
	for _, d := range dirs {
		if !f.IsDir(d) {
			continue
		}
		names, err := f.ReadDir(d)
		if err != nil {
			continue
		}
		for _, n := range names {
			if ok, _ := filepath.Match(file, n); ok {
				matches = append(matches, filepath.Join(d, n))
			}
		}
	}
	sort.Strings(matches)
	return matches, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

func cleanGlobDir(dir string) string {
	switch dir {
	case "":
		return "."
	case string(filepath.Separator):
		return dir
	}
	return dir[:len(dir)-1]
}

// Walk walks the tree at p as filepath.Walk does: lexical order, symlinks
// reported but not followed.
func (f *FS) Walk(p string, fn filepath.WalkFunc) error {
	if f.remoteClone(p) {
		return f.disk.Walk(p, fn)
	}
	rel, ok := f.rel(p)
	if !ok {
		return fn(p, nil, f.outside(p))
	}
	k, err := f.stat(rel)
	if err != nil {
		return fn(p, nil, err)
	}
	err = f.walk(p, fileInfo{name: filepath.Base(p), dir: k == repo.Dir}, fn)
	if err == filepath.SkipDir || err == filepath.SkipAll {
		return nil
	}
	return err
}

func (f *FS) walk(p string, info fileInfo, fn filepath.WalkFunc) error {
	if !info.dir {
		return fn(p, info, nil)
	}
	entries, err := f.list(p)
	err1 := fn(p, info, err)
	if err != nil || err1 != nil {
		return err1
	}
	for _, e := range entries {
		child := fileInfo{name: e.Name, dir: e.Kind == repo.Dir && !e.Link, link: e.Link}
		if err := f.walk(filepath.Join(p, e.Name), child, fn); err != nil {
			if !child.dir || err != filepath.SkipDir {
				return err
			}
		}
	}
	return nil
}

// Open opens the file at p for reading.
func (f *FS) Open(p string) (filesys.File, error) {
	data, err := f.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &file{Reader: bytes.NewReader(data), info: fileInfo{name: filepath.Base(p), size: int64(len(data))}}, nil
}

func (f *FS) readOnly(op, p string) error {
	return &fs.PathError{Op: op, Path: p, Err: fs.ErrPermission}
}

// Create is refused: a render never writes.
func (f *FS) Create(p string) (filesys.File, error) { return nil, f.readOnly("create", p) }

// Mkdir is refused: a render never writes.
func (f *FS) Mkdir(p string) error { return f.readOnly("mkdir", p) }

// MkdirAll is refused: a render never writes.
func (f *FS) MkdirAll(p string) error { return f.readOnly("mkdir", p) }

// RemoveAll is refused: a render never writes.
func (f *FS) RemoveAll(p string) error { return f.readOnly("remove", p) }

// WriteFile is refused: a render never writes.
func (f *FS) WriteFile(p string, _ []byte) error { return f.readOnly("write", p) }

type file struct {
	*bytes.Reader
	info fileInfo
}

func (*file) Write([]byte) (int, error)     { return 0, fs.ErrPermission }
func (*file) Close() error                  { return nil }
func (fl *file) Stat() (os.FileInfo, error) { return fl.info, nil }

var _ io.ReadWriteCloser = (*file)(nil)

type fileInfo struct {
	name string
	size int64
	dir  bool
	link bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() os.FileMode {
	switch {
	case i.dir:
		return fs.ModeDir | 0o755
	case i.link:
		return fs.ModeSymlink | 0o777
	}
	return 0o644
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }

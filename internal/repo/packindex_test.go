package repo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gittest"
)

// TestPackIndexAsGoGit reads indexes git wrote, with and without their
// reverse index, and one go-git wrote with offsets past 4 GiB, through
// packIndex and go-git's MemoryIndex: every answer must be the same.
func TestPackIndexAsGoGit(t *testing.T) {
	dir := packedRepo(t)
	idxPath := onePack(t, dir, ".idx")
	data, err := os.ReadFile(idxPath)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := os.ReadFile(strings.TrimSuffix(idxPath, ".idx") + ".rev")
	if err != nil {
		t.Fatal(err)
	}

	// Offsets past 4 GiB take the index's table of large offsets.
	w := new(idxfile.Writer)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		pos := uint64(12 + 200*i)
		if i%3 == 0 {
			pos += 5 << 30
		}
		w.Add(plumbing.Hash(sha1.Sum(fmt.Appendf(nil, "object %d", i))), pos, rnd.Uint32())
	}
	if err := w.OnFooter(plumbing.Hash(sha1.Sum([]byte("pack")))); err != nil {
		t.Fatal(err)
	}
	large, err := w.Index()
	if err != nil {
		t.Fatal(err)
	}
	var encoded bytes.Buffer
	if _, err := idxfile.NewEncoder(&encoded).Encode(large); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		idx, rev  []byte
		wantRev   bool
		minLarges int
	}{
		{name: "git's, with .rev", idx: data, rev: rev, wantRev: true},
		{name: "git's, without .rev", idx: data},
		{name: "a .rev of another pack", idx: data, rev: append(bytes.Clone(rev[:len(rev)-40]), make([]byte, 40)...)},
		{name: "offsets past 4 GiB", idx: encoded.Bytes(), minLarges: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := new(idxfile.MemoryIndex)
			if err := idxfile.NewDecoder(bytes.NewReader(tc.idx)).Decode(want); err != nil {
				t.Fatal(err)
			}
			got, err := parsePackIndex(tc.idx, tc.rev)
			if err != nil {
				t.Fatal(err)
			}
			if (got.rev != nil) != tc.wantRev {
				t.Errorf("reverse index used: %v, want %v", got.rev != nil, tc.wantRev)
			}
			if len(got.large)/8 < tc.minLarges {
				t.Errorf("%d large offsets, want at least %d", len(got.large)/8, tc.minLarges)
			}
			sameIndex(t, got, want)
		})
	}
}

// sameIndex compares every answer of got with want's.
func sameIndex(t *testing.T, got *packIndex, want *idxfile.MemoryIndex) {
	t.Helper()
	n, _ := want.Count()
	if c, _ := got.Count(); c != n {
		t.Fatalf("Count = %d, want %d", c, n)
	}
	for _, order := range []string{"names", "offsets"} {
		wantIt, gotIt := entries(t, want, order), entries(t, got, order)
		for i := 0; ; i++ {
			we, werr := wantIt.Next()
			ge, gerr := gotIt.Next()
			if werr != nil || gerr != nil {
				if !errors.Is(werr, io.EOF) || !errors.Is(gerr, io.EOF) {
					t.Fatalf("entry %d by %s: %v, want %v", i, order, gerr, werr)
				}
				break
			}
			if *ge != *we {
				t.Fatalf("entry %d by %s = %+v, want %+v", i, order, *ge, *we)
			}
			if order == "offsets" {
				continue
			}
			h, off := we.Hash, int64(we.Offset)
			if ok, _ := got.Contains(h); !ok {
				t.Errorf("Contains(%s) = false", h)
			}
			if o, err := got.FindOffset(h); err != nil || o != off {
				t.Errorf("FindOffset(%s) = %d, %v; want %d", h, o, err, off)
			}
			if c, err := got.FindCRC32(h); err != nil || c != we.CRC32 {
				t.Errorf("FindCRC32(%s) = %d, %v; want %d", h, c, err, we.CRC32)
			}
			if g, err := got.FindHash(off); err != nil || g != h {
				t.Errorf("FindHash(%d) = %s, %v; want %s", off, g, err, h)
			}
		}
	}
	missing := plumbing.Hash(sha1.Sum([]byte("no such object")))
	if ok, _ := got.Contains(missing); ok {
		t.Error("Contains(a missing object) = true")
	}
	if _, err := got.FindOffset(missing); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("FindOffset(a missing object): %v", err)
	}
	if _, err := got.FindHash(3); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("FindHash(an offset where no object starts): %v", err)
	}
}

func entries(t *testing.T, idx idxfile.Index, order string) idxfile.EntryIter {
	t.Helper()
	it, err := idx.Entries()
	if order == "offsets" {
		it, err = idx.EntriesByOffset()
	}
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestPackedStorageAsGoGit reads every object of a repository, packed
// with deltas by git, then loose ones go-git writes, then a pack made
// after the store was first read: the same type and content as go-git's
// own store gives. A pack whose index git has not written yet (a fetch
// under way) is not read.
func TestPackedStorageAsGoGit(t *testing.T) {
	dir := packedRepo(t)
	partial := filepath.Join(dir, ".git", "objects", "pack", "pack-"+strings.Repeat("0", 40)+".pack")
	if err := os.WriteFile(partial, []byte("PACK\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Git.Storer.(*packedStorage); !ok {
		t.Fatalf("the store is a %T", r.Git.Storer)
	}
	sameObjects(t, r.Git, dir)

	// Loose objects, then the same objects packed again.
	g := &gittest.Repo{Git: r.Git, Dir: dir}
	g.CommitFiles(t, "loose", map[string][]byte{"apps/new.yaml": []byte("kind: ConfigMap\n")})
	sameObjects(t, r.Git, dir)
	gitCLI(t, dir, "repack", "-a", "-d", "-q")
	sameObjects(t, r.Git, dir)

	missing := plumbing.Hash(sha1.Sum([]byte("no such object")))
	if _, err := r.Git.Storer.EncodedObject(plumbing.AnyObject, missing); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("a missing object: %v", err)
	}
	if err := r.Git.Storer.HasEncodedObject(missing); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("HasEncodedObject(a missing object): %v", err)
	}
}

// sameObjects compares every object go-git's store holds with what
// got's store reads.
func sameObjects(t *testing.T, got *git.Repository, dir string) {
	t.Helper()
	want, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	it, err := want.Storer.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = it.ForEach(func(w plumbing.EncodedObject) error {
		n++
		g, err := got.Storer.EncodedObject(w.Type(), w.Hash())
		if err != nil {
			return fmt.Errorf("%s %s: %w", w.Type(), w.Hash(), err)
		}
		if err := got.Storer.HasEncodedObject(w.Hash()); err != nil {
			return fmt.Errorf("HasEncodedObject(%s): %w", w.Hash(), err)
		}
		wc, gc := content(t, w), content(t, g)
		if g.Type() != w.Type() || g.Size() != w.Size() || !bytes.Equal(gc, wc) || g.Hash() != w.Hash() {
			return fmt.Errorf("%s %s read as %s %s (%d bytes, want %d)", w.Type(), w.Hash(), g.Type(), g.Hash(), len(gc), len(wc))
		}
		if other := map[plumbing.ObjectType]plumbing.ObjectType{plumbing.BlobObject: plumbing.TreeObject}[w.Type()]; other != 0 {
			if _, err := got.Storer.EncodedObject(other, w.Hash()); !errors.Is(err, plumbing.ErrObjectNotFound) {
				return fmt.Errorf("blob %s asked for as a tree: %v", w.Hash(), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d objects compared", n)
	}
}

func content(t *testing.T, o plumbing.EncodedObject) []byte {
	t.Helper()
	r, err := o.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// packedRepo is a repository with a history whose files change a little
// at each commit, packed by git with deltas and a reverse index.
func packedRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	g := gittest.Init(t, dir)
	var long strings.Builder
	for i := range 400 {
		fmt.Fprintf(&long, "  key-%d: value-%d\n", i, i)
	}
	for c := range 12 {
		files := map[string][]byte{}
		for f := range 8 {
			files[fmt.Sprintf("apps/app-%d/deployment.yaml", f)] = fmt.Appendf(nil, "replicas: %d\ndata:\n%s", c*f, long.String())
		}
		g.CommitFiles(t, fmt.Sprintf("commit %d", c), files)
	}
	gitCLI(t, dir, "-c", "pack.writeReverseIndex=true", "repack", "-a", "-d", "-f", "-q")
	if deltas := gitCLI(t, dir, "verify-pack", "-v", onePack(t, dir, ".idx")); !strings.Contains(deltas, "chain length") {
		t.Fatalf("the pack has no deltas:\n%s", deltas)
	}
	return dir
}

// onePack returns the file of the repository's only pack with ext.
func onePack(t *testing.T, dir, ext string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*"+ext))
	if err != nil || len(m) != 1 {
		t.Fatalf("packs %v, %v", m, err)
	}
	return m[0]
}

// FuzzPackIndex: an index or reverse index of any content is an error or
// answers without panicking.
func FuzzPackIndex(f *testing.F) {
	w := new(idxfile.Writer)
	for i := range 40 {
		pos := uint64(12 + 100*i)
		if i%4 == 0 {
			pos += 5 << 30
		}
		w.Add(plumbing.Hash(sha1.Sum(fmt.Appendf(nil, "%d", i))), pos, uint32(i))
	}
	_ = w.OnFooter(plumbing.ZeroHash)
	idx, _ := w.Index()
	var b bytes.Buffer
	_, _ = idxfile.NewEncoder(&b).Encode(idx)
	f.Add(b.Bytes(), []byte(nil))
	rev := append([]byte("RIDX\x00\x00\x00\x01\x00\x00\x00\x01"), make([]byte, 4*40+40)...)
	f.Add(b.Bytes(), rev)
	f.Fuzz(func(t *testing.T, data, rev []byte) {
		idx, err := parsePackIndex(data, rev)
		if err != nil {
			return
		}
		for _, order := range []string{"names", "offsets"} {
			it, err := idx.Entries()
			if order == "offsets" {
				it, err = idx.EntriesByOffset()
			}
			if err != nil {
				continue
			}
			for {
				e, err := it.Next()
				if err != nil {
					break
				}
				_, _ = idx.FindOffset(e.Hash)
				_, _ = idx.FindCRC32(e.Hash)
				_, _ = idx.FindHash(int64(e.Offset))
			}
		}
	})
}

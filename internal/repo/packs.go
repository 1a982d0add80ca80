package repo

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// packedStorage is a repository's store whose objects are read from its
// packs through packIndex, and from loose files; everything else (writes,
// references, the index, the sizes and deltas a push asks for) is go-git's.
// It is not safe for concurrent use, as go-git's is not: Repo serializes
// its reads.
type packedStorage struct {
	*filesystem.Storage
	dotGit billy.Filesystem
	packs  map[string]*packfile.Packfile // by file name, each open once
	order  []string                      // packs in the order they are searched
	listed bool                          // whether the packs were listed yet
	cache  cache.Object
}

const packDir = "objects/pack"

// withPackIndexes returns st reading objects through packIndex, or st
// itself for a store this does not read: one that borrows objects from
// another repository (objects/info/alternates).
func withPackIndexes(st *filesystem.Storage) storage.Storer {
	dotGit := st.Filesystem()
	if _, err := dotGit.Stat("objects/info/alternates"); !errors.Is(err, fs.ErrNotExist) {
		return st
	}
	return &packedStorage{Storage: st, dotGit: dotGit, packs: map[string]*packfile.Packfile{}, cache: cache.NewObjectLRUDefault()}
}

// scan opens the packs it has not opened yet; it reports whether there
// were any. A pack is listed by its index, as git lists them: git writes
// the index of a new pack last.
func (s *packedStorage) scan() (bool, error) {
	s.listed = true
	entries, err := s.dotGit.ReadDir(packDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	added := false
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || !strings.HasPrefix(name, "pack-") || s.packs[name] != nil {
			continue
		}
		p, err := s.openPack(name)
		if err != nil {
			return false, err
		}
		s.packs[name] = p
		s.order = append(s.order, name)
		added = true
	}
	return added, nil
}

// openPack opens the pack name (pack-<hash>) with its index, and its
// reverse index when git wrote one.
func (s *packedStorage) openPack(name string) (*packfile.Packfile, error) {
	base := path.Join(packDir, name)
	data, err := util.ReadFile(s.dotGit, base+".idx")
	if err != nil {
		return nil, err
	}
	rev, err := util.ReadFile(s.dotGit, base+".rev")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	idx, err := parsePackIndex(data, rev)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: base + ".idx", Err: err}
	}
	f, err := s.dotGit.Open(base + ".pack")
	if err != nil {
		return nil, err
	}
	return packfile.NewPackfileWithCache(idx, s.dotGit, f, s.cache, 0), nil
}

// EncodedObject returns the object h, from a pack or a loose file; an
// object of another type than t (unless t is AnyObject) is not found, as
// in go-git's store.
func (s *packedStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	obj, err := s.object(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.AnyObject && obj.Type() != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return obj, nil
}

func (s *packedStorage) object(h plumbing.Hash) (plumbing.EncodedObject, error) {
	p, err := s.where(h)
	switch {
	case err != nil:
		return nil, err
	case p != nil:
		return p.Get(h)
	}
	return s.loose(h)
}

// where returns the pack that holds h, or nil when h is a loose object.
func (s *packedStorage) where(h plumbing.Hash) (*packfile.Packfile, error) {
	scanned := false
	if !s.listed {
		if _, err := s.scan(); err != nil {
			return nil, err
		}
		scanned = true
	}
	for {
		for _, name := range s.order {
			if ok, _ := s.packs[name].Index.Contains(h); ok {
				return s.packs[name], nil
			}
		}
		if _, err := s.dotGit.Stat(loosePath(h)); err == nil {
			return nil, nil
		}
		if scanned {
			return nil, plumbing.ErrObjectNotFound
		}
		// Packed since the packs were listed (a fetch, a gc)?
		added, err := s.scan()
		if err != nil {
			return nil, err
		}
		if !added {
			return nil, plumbing.ErrObjectNotFound
		}
		scanned = true
	}
}

// loose reads the object file of h, as go-git's store does.
func (s *packedStorage) loose(h plumbing.Hash) (obj plumbing.EncodedObject, err error) {
	f, err := s.dotGit.Open(loosePath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, plumbing.ErrObjectNotFound
		}
		return nil, err
	}
	defer f.Close()
	r, err := objfile.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	}()
	t, size, err := r.Header()
	if err != nil {
		return nil, err
	}
	mem := &plumbing.MemoryObject{}
	mem.SetType(t)
	mem.SetSize(size)
	if _, err := io.Copy(mem, r); err != nil {
		return nil, err
	}
	return mem, nil
}

// loosePath is where the loose object h is, in the .git folder.
func loosePath(h plumbing.Hash) string {
	hex := h.String()
	return path.Join("objects", hex[:2], hex[2:])
}

// HasEncodedObject tells whether the store holds h.
func (s *packedStorage) HasEncodedObject(h plumbing.Hash) error {
	_, err := s.where(h)
	return err
}

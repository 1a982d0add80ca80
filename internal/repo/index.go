package repo

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// readIndex reads Git's index, and when it was written (zero when unknown).
// go-git's decoder reads every field through reflection, ~5 ms for a
// thousand files: a tenth of a pre-commit hook. indexEntries reads the
// entries of the versions Git writes (2, 3 and 4) directly; an index it
// does not read (a split or sparse index, another hash) goes to go-git.
func readIndex(g *git.Repository) (*index.Index, time.Time, error) {
	s, ok := g.Storer.(interface{ Filesystem() billy.Filesystem })
	if !ok {
		idx, err := g.Storer.Index()
		return idx, time.Time{}, err
	}
	fsys := s.Filesystem()
	f, err := fsys.Open("index")
	if err != nil {
		// No index yet: go-git answers with an empty one.
		idx, err := g.Storer.Index()
		return idx, time.Time{}, err
	}
	defer f.Close()
	var written time.Time
	if fi, err := fsys.Stat("index"); err == nil {
		written = fi.ModTime()
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, err
	}
	if idx, err := indexEntries(data); err == nil {
		return idx, written, nil
	}
	idx := &index.Index{}
	if err := index.NewDecoder(bytes.NewReader(data)).Decode(idx); err != nil {
		return nil, time.Time{}, err
	}
	return idx, written, nil
}

var errIndexFormat = errors.New("index not read here")

const (
	indexHeader    = 12
	indexEntryHead = 62 // the fixed fields of an entry, up to its flags
	indexHashSize  = 20 // SHA-1
)

// indexEntries reads the entries of an index of version 2, 3 or 4, as
// Git's index-format documentation lays them out. Extensions are skipped,
// but one that changes what the entries mean (a split or sparse index)
// makes it refuse, as does a checksum that does not match.
func indexEntries(data []byte) (*index.Index, error) {
	if len(data) < indexHeader+indexHashSize || string(data[:4]) != "DIRC" {
		return nil, errIndexFormat
	}
	body, sum := data[:len(data)-indexHashSize], data[len(data)-indexHashSize:]
	if !allZero(sum) { // index.skipHash writes zeros
		if h := sha1.Sum(body); !bytes.Equal(h[:], sum) {
			return nil, errIndexFormat
		}
	}
	version := binary.BigEndian.Uint32(data[4:])
	if version < 2 || version > 4 {
		return nil, errIndexFormat
	}
	n := binary.BigEndian.Uint32(data[8:])
	if uint64(n) > uint64(len(body))/indexEntryHead {
		return nil, errIndexFormat
	}
	idx := &index.Index{Version: version, Entries: make([]*index.Entry, 0, n)}
	entries := make([]index.Entry, n)
	p := body[indexHeader:]
	var prev []byte // v4 names are stored as a change of the previous one
	for i := range entries {
		if len(p) < indexEntryHead {
			return nil, errIndexFormat
		}
		start := len(p)
		e := &entries[i]
		be := binary.BigEndian
		e.CreatedAt = indexTime(be.Uint32(p[0:]), be.Uint32(p[4:]))
		e.ModifiedAt = indexTime(be.Uint32(p[8:]), be.Uint32(p[12:]))
		e.Dev, e.Inode = be.Uint32(p[16:]), be.Uint32(p[20:])
		e.Mode = filemode.FileMode(be.Uint32(p[24:]))
		e.UID, e.GID, e.Size = be.Uint32(p[28:]), be.Uint32(p[32:]), be.Uint32(p[36:])
		copy(e.Hash[:], p[40:60])
		flags := be.Uint16(p[60:])
		p = p[indexEntryHead:]
		e.Stage = index.Stage(flags >> 12 & 3)
		if flags&0x4000 != 0 { // extended
			if version < 3 || len(p) < 2 {
				return nil, errIndexFormat
			}
			ext := be.Uint16(p)
			e.SkipWorktree, e.IntentToAdd = ext&0x4000 != 0, ext&0x2000 != 0
			p = p[2:]
		}
		if e.Mode == filemode.Dir { // a sparse index's directory entry
			return nil, errIndexFormat
		}
		var name []byte
		if version == 4 {
			strip, size := indexVarint(p)
			if size <= 0 || strip > uint64(len(prev)) {
				return nil, errIndexFormat
			}
			p = p[size:]
			end := bytes.IndexByte(p, 0)
			if end < 0 {
				return nil, errIndexFormat
			}
			name = append(prev[:len(prev)-int(strip):len(prev)-int(strip)], p[:end]...)
			p = p[end+1:]
			prev = name
		} else {
			end := bytes.IndexByte(p, 0)
			if end < 0 {
				return nil, errIndexFormat
			}
			name = p[:end]
			// NULs pad the entry to a multiple of eight bytes, one at least.
			size := start - len(p) + end
			pad := 8 - size%8
			if len(p) < end+pad {
				return nil, errIndexFormat
			}
			p = p[end+pad:]
		}
		e.Name = string(name)
		idx.Entries = append(idx.Entries, e)
	}
	// What follows is extensions: a signature, a size and data each.
	for len(p) > 0 {
		if len(p) < 8 {
			return nil, errIndexFormat
		}
		sig, size := string(p[:4]), binary.BigEndian.Uint32(p[4:])
		if uint64(size) > uint64(len(p)-8) || sig == "link" || sig == "sdir" {
			return nil, errIndexFormat
		}
		p = p[8+size:]
	}
	return idx, nil
}

// indexVarint reads the offset encoding of index version 4 (the one Git's
// varint.c writes): seven bits a byte, most significant first, each
// continuation adding one. It returns the value and the bytes read, 0 when
// the input ends or overflows.
func indexVarint(p []byte) (uint64, int) {
	var v uint64
	for i, c := range p {
		if i == 9 {
			return 0, 0
		}
		if i > 0 {
			v = (v + 1) << 7
		}
		v |= uint64(c & 127)
		if c&128 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

// indexTime is a time the index records; none (as for an entry git
// update-index --index-info added) is the zero time.
func indexTime(sec, nsec uint32) time.Time {
	if sec == 0 && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), int64(nsec))
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

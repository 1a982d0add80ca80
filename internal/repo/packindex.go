package repo

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// packIndex is a pack's index (.idx, version 2) read where it lies, an
// idxfile.Index for go-git's packfile reader. Finding an object is a
// binary search of the sorted names; finding the object at an offset
// (which go-git does for every object it reads, to key its caches) a
// binary search of the pack's reverse index (.rev, which git writes beside
// the pack since 2.41), else of an order by offset built on first use.
//
// go-git's own idxfile.MemoryIndex decodes every entry, then maps every
// offset to its hash on the first read: for a history of 300,000 objects,
// 150 ms of every command that reads a revision with a cold cache.
// TestPackIndexAsGoGit holds this to it.
type packIndex struct {
	fanout  []byte // 256 big-endian counts
	names   []byte // count sorted object names, hashSize bytes each
	crcs    []byte // count CRC32s
	offsets []byte // count 31-bit offsets, or indexes into large
	large   []byte // 64-bit offsets
	count   int

	// rev lists index positions in pack order: the .rev file's, or
	// built by byOffset, which keeps why it could not be in revErr.
	rev     []byte
	revErr  error
	revOnce sync.Once
}

const (
	hashSize = 20
	// idxHeaderSize is the magic number, the version and the fan-out.
	idxHeaderSize = 8 + 256*4
	// idxTrailerSize is the pack's checksum and the index's.
	idxTrailerSize = 2 * hashSize
	// revHeaderSize is the magic number, the version and the hash
	// function of a .rev file.
	revHeaderSize = 12
)

var (
	idxMagic = []byte{0xff, 't', 'O', 'c'}
	revMagic = []byte("RIDX")
)

// parsePackIndex reads an .idx file's content, and the pack's .rev
// file's when rev is not nil; a .rev that does not fit is left unused.
func parsePackIndex(data, rev []byte) (*packIndex, error) {
	if len(data) < idxHeaderSize+idxTrailerSize || !bytes.Equal(data[:4], idxMagic) {
		return nil, errors.New("not a version 2 pack index")
	}
	if v := binary.BigEndian.Uint32(data[4:8]); v != 2 {
		return nil, fmt.Errorf("pack index version %d (only 2 is read)", v)
	}
	idx := &packIndex{fanout: data[8:idxHeaderSize]}
	prev := uint32(0)
	for i := range 256 {
		n := binary.BigEndian.Uint32(idx.fanout[4*i:])
		if n < prev {
			return nil, errors.New("pack index: its fan-out table decreases")
		}
		prev = n
	}
	count := int(prev)
	body := data[idxHeaderSize : len(data)-idxTrailerSize]
	fixed := count * (hashSize + 4 + 4)
	if count > len(body)/(hashSize+8) || len(body) < fixed || (len(body)-fixed)%8 != 0 {
		return nil, fmt.Errorf("pack index: %d bytes cannot hold %d objects", len(data), count)
	}
	idx.count = count
	idx.names, body = body[:count*hashSize], body[count*hashSize:]
	idx.crcs, body = body[:count*4], body[count*4:]
	idx.offsets, idx.large = body[:count*4], body[count*4:]
	if len(rev) == revHeaderSize+4*count+idxTrailerSize && bytes.Equal(rev[:4], revMagic) &&
		binary.BigEndian.Uint32(rev[4:8]) == 1 && binary.BigEndian.Uint32(rev[8:12]) == 1 &&
		bytes.Equal(rev[len(rev)-idxTrailerSize:len(rev)-hashSize], data[len(data)-idxTrailerSize:len(data)-hashSize]) {
		idx.rev = rev[revHeaderSize : revHeaderSize+4*count]
	}
	return idx, nil
}

// position is where h is in the index.
func (idx *packIndex) position(h plumbing.Hash) (int, bool) {
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(idx.fanout[4*(int(h[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(idx.fanout[4*int(h[0]):]))
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch bytes.Compare(idx.names[mid*hashSize:(mid+1)*hashSize], h[:]) {
		case 0:
			return mid, true
		case -1:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// offset is the pack offset of the object at position i.
func (idx *packIndex) offset(i int) (int64, error) {
	v := binary.BigEndian.Uint32(idx.offsets[4*i:])
	if v&0x80000000 == 0 {
		return int64(v), nil
	}
	j := int(v &^ 0x80000000)
	if j >= len(idx.large)/8 {
		return 0, errors.New("pack index: a large offset past its table")
	}
	off := binary.BigEndian.Uint64(idx.large[8*j:])
	if off > math.MaxInt64 {
		return 0, errors.New("pack index: an offset past 2^63")
	}
	return int64(off), nil
}

func (idx *packIndex) hash(i int) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], idx.names[i*hashSize:])
	return h
}

// Contains implements idxfile.Index.
func (idx *packIndex) Contains(h plumbing.Hash) (bool, error) {
	_, ok := idx.position(h)
	return ok, nil
}

// FindOffset implements idxfile.Index.
func (idx *packIndex) FindOffset(h plumbing.Hash) (int64, error) {
	i, ok := idx.position(h)
	if !ok {
		return 0, plumbing.ErrObjectNotFound
	}
	return idx.offset(i)
}

// FindCRC32 implements idxfile.Index.
func (idx *packIndex) FindCRC32(h plumbing.Hash) (uint32, error) {
	i, ok := idx.position(h)
	if !ok {
		return 0, plumbing.ErrObjectNotFound
	}
	return binary.BigEndian.Uint32(idx.crcs[4*i:]), nil
}

// byOffset returns the index positions in pack order.
func (idx *packIndex) byOffset() ([]byte, error) {
	idx.revOnce.Do(func() {
		if idx.rev != nil {
			for k := range idx.count {
				if int(binary.BigEndian.Uint32(idx.rev[4*k:])) >= idx.count {
					idx.rev = nil // a .rev that does not fit: build the order
					break
				}
			}
			if idx.rev != nil {
				return
			}
		}
		idx.rev, idx.revErr = idx.orderByOffset()
	})
	return idx.rev, idx.revErr
}

// orderByOffset sorts the index positions by offset: a counting sort on
// the offsets' high bits into one or two buckets per object, each bucket
// then sorted. A comparison sort of a 300,000-object index takes 50 ms,
// what go-git's map of every offset costs.
func (idx *packIndex) orderByOffset() ([]byte, error) {
	offs := make([]int64, idx.count)
	var maxOff int64
	for i := range offs {
		off, err := idx.offset(i)
		if err != nil {
			return nil, err
		}
		offs[i], maxOff = off, max(maxOff, off)
	}
	shift := max(0, bits.Len64(uint64(maxOff))-bits.Len(uint(idx.count)))
	starts := make([]uint32, int(maxOff>>shift)+2)
	for _, off := range offs {
		starts[(off>>shift)+1]++
	}
	for b := 1; b < len(starts); b++ {
		starts[b] += starts[b-1]
	}
	order := make([]uint32, idx.count)
	next := slices.Clone(starts[:len(starts)-1])
	for i, off := range offs {
		b := off >> shift
		order[next[b]] = uint32(i)
		next[b]++
	}
	for b := 0; b+1 < len(starts); b++ {
		if bucket := order[starts[b]:starts[b+1]]; len(bucket) > 1 {
			slices.SortFunc(bucket, func(x, y uint32) int { return cmp.Compare(offs[x], offs[y]) })
		}
	}
	rev := make([]byte, 4*idx.count)
	for k, pos := range order {
		binary.BigEndian.PutUint32(rev[4*k:], pos)
	}
	return rev, nil
}

// FindHash implements idxfile.Index.
func (idx *packIndex) FindHash(o int64) (plumbing.Hash, error) {
	rev, err := idx.byOffset()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	lo, hi := 0, idx.count
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		pos := int(binary.BigEndian.Uint32(rev[4*mid:]))
		off, err := idx.offset(pos)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch {
		case off == o:
			return idx.hash(pos), nil
		case off < o:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return plumbing.ZeroHash, plumbing.ErrObjectNotFound
}

// Count implements idxfile.Index.
func (idx *packIndex) Count() (int64, error) { return int64(idx.count), nil }

// Entries implements idxfile.Index: the entries in the order of their
// names.
func (idx *packIndex) Entries() (idxfile.EntryIter, error) {
	return &packEntries{idx: idx}, nil
}

// EntriesByOffset implements idxfile.Index.
func (idx *packIndex) EntriesByOffset() (idxfile.EntryIter, error) {
	rev, err := idx.byOffset()
	if err != nil {
		return nil, err
	}
	return &packEntries{idx: idx, order: rev}, nil
}

// packEntries iterates over an index's entries: in its order, or in the
// order of the positions order lists.
type packEntries struct {
	idx   *packIndex
	order []byte
	next  int
}

// Next implements idxfile.EntryIter.
func (it *packEntries) Next() (*idxfile.Entry, error) {
	if it.next >= it.idx.count {
		return nil, io.EOF
	}
	i := it.next
	if it.order != nil {
		i = int(binary.BigEndian.Uint32(it.order[4*it.next:]))
	}
	it.next++
	off, err := it.idx.offset(i)
	if err != nil {
		return nil, err
	}
	return &idxfile.Entry{Hash: it.idx.hash(i), CRC32: binary.BigEndian.Uint32(it.idx.crcs[4*i:]), Offset: uint64(off)}, nil
}

// Close implements idxfile.EntryIter.
func (it *packEntries) Close() error {
	it.next = it.idx.count
	return nil
}

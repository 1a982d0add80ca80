// Package cache is a content-addressed store on disk for render results.
//
// Entries are files named by the SHA-256 of their key, written to a
// temporary file and renamed into place, so concurrent runs never see a
// partial entry and the last writer wins with a complete one. Each entry
// ends with the SHA-256 of what precedes it, checked on every read: a
// damaged or edited entry reads as missing, and its caller renders again. Reading an
// entry refreshes its modification time; Trim removes the least recently
// used entries until the store fits its size bound. The bound is soft: Trim
// walks the store only when a run wrote a twentieth of it, or an hour after
// the last walk, so a warm run that adds one render does not list every
// entry.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultMaxBytes bounds the store when no other size is given.
const DefaultMaxBytes = 512 << 20

// Cache is a store in one directory.
type Cache struct {
	dir      string
	maxBytes int64
	now      func() time.Time
	written  atomic.Int64 // bytes this process stored
	remote   Remote
	made     sync.Map // the folders of entries this process made or found
}

// Remote is a store behind the local one that machines share (a
// registry): an entry missing here is read from it, and an entry stored
// here is sent to it. Neither fails a run: a Remote that cannot be
// reached answers that it has nothing.
type Remote interface {
	// Get returns the entry stored under key, or false.
	Get(key string) ([]byte, bool)
	// Put sends an entry, perhaps later.
	Put(key string, data []byte)
}

// SetRemote puts r behind the store, before its first use.
func (c *Cache) SetRemote(r Remote) { c.remote = r }

// trimStamp is the file whose modification time is the last Trim's walk.
const trimStamp = "trimmed"

// Open returns the store in dir, creating it. maxBytes <= 0 means
// DefaultMaxBytes.
func Open(dir string, maxBytes int64) (*Cache, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Cache{dir: dir, maxBytes: maxBytes, now: time.Now}, nil
}

// Dir is the directory the store lives in.
func (c *Cache) Dir() string { return c.dir }

// Key hashes the parts of a key into an entry name.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Digest is the SHA-256 of data, in hex.
func Digest(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func (c *Cache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key[2:])
}

// GetString returns the entry stored under key as a string, without a
// copy: a warm run reads records of a megabyte or more, and on some
// machines a fresh page of memory costs more than reading it. A large entry
// is mapped rather than read, its pages shared with the page cache; the
// mapping lasts as long as the process. Neither is ever written: an entry
// is replaced by renaming a new file over it, and Trim unlinks.
func (c *Cache) GetString(key string) (string, bool) {
	f, st, ok := c.open(key)
	if !ok {
		data, ok := c.fetch(key)
		return string(data), ok
	}
	defer f.Close()
	var data []byte
	if st.Size() >= mapAtLeast {
		data, _ = mapFile(f, int(st.Size()))
	}
	if data == nil {
		if data, ok = readAll(f, st, new([]byte)); !ok {
			return "", false
		}
	}
	if data, ok = verified(data); !ok {
		return "", false
	}
	if len(data) == 0 {
		return "", true
	}
	// data is this call's own buffer or mapping and nothing else refers to
	// it, so it never changes under the string.
	return unsafe.String(&data[0], len(data)), true
}

// mapAtLeast is the size from which GetString maps an entry: below it, a
// read costs less than setting up a mapping.
const mapAtLeast = 64 << 10

// Get returns the entry stored under key.
func (c *Cache) Get(key string) ([]byte, bool) {
	var buf []byte
	return c.ReadInto(key, &buf)
}

// ReadInto reads the entry stored under key into *buf, grown when it is
// too small, and returns its content, good until *buf is used again. A
// caller reading many entries in turn passes one buffer: fresh memory for
// each would cost more than the reads.
func (c *Cache) ReadInto(key string, buf *[]byte) ([]byte, bool) {
	f, st, ok := c.open(key)
	if !ok {
		return c.fetch(key)
	}
	defer f.Close()
	data, ok := readAll(f, st, buf)
	if !ok {
		return nil, false
	}
	return verified(data)
}

// fetch reads an entry missing here from the remote, and keeps it here.
func (c *Cache) fetch(key string) ([]byte, bool) {
	if c.remote == nil {
		return nil, false
	}
	data, ok := c.remote.Get(key)
	if !ok {
		return nil, false
	}
	_ = c.write(key, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return data, true
}

// verified returns an entry's content without the digest it ends with, and
// whether that digest matches it.
func verified(entry []byte) ([]byte, bool) {
	n := len(entry) - sha256.Size
	if n < 0 {
		return nil, false
	}
	sum := sha256.Sum256(entry[:n])
	if !bytes.Equal(sum[:], entry[n:]) {
		return nil, false
	}
	return entry[:n], true
}

// open opens the entry stored under key, refreshing its recency for Trim
// at most hourly, so that a warm run does not write to every entry it
// reads (a failure only ages the entry).
func (c *Cache) open(key string) (*os.File, os.FileInfo, bool) {
	p := c.path(key)
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, false
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, false
	}
	if now := c.now(); now.Sub(st.ModTime()) > time.Hour {
		_ = os.Chtimes(p, now, now)
	}
	return f, st, true
}

func readAll(f *os.File, st os.FileInfo, buf *[]byte) ([]byte, bool) {
	n := int(st.Size())
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	data := (*buf)[:n]
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false
	}
	return data, true
}

// Put stores data under key atomically.
func (c *Cache) Put(key string, data []byte) error {
	return c.put(key, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// put stores under key what write writes, and sends it to the remote.
func (c *Cache) put(key string, write func(io.Writer) error) error {
	if c.remote == nil {
		return c.write(key, write)
	}
	var buf bytes.Buffer
	err := c.write(key, func(w io.Writer) error { return write(io.MultiWriter(w, &buf)) })
	if err == nil {
		c.remote.Put(key, buf.Bytes())
	}
	return err
}

// write stores under key what write writes into a temporary file, followed
// by its digest, renamed into place once complete.
func (c *Cache) write(key string, write func(io.Writer) error) error {
	p := c.path(key)
	dir := filepath.Dir(p)
	if _, ok := c.made.Load(dir); !ok {
		// Once per folder: a cold run writes hundreds of entries.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		c.made.Store(dir, true)
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		// The folder was taken away meanwhile (another tool cleaned the
		// cache).
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tmp, err = os.CreateTemp(dir, tmpPrefix+"*")
	}
	if err != nil {
		return err
	}
	h := sha256.New()
	n := &counter{}
	err = write(io.MultiWriter(tmp, h, n))
	if err == nil {
		_, err = tmp.Write(h.Sum(nil))
	}
	size := n.n + sha256.Size
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err == nil {
		c.written.Add(size)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// tmpPrefix starts the name of an entry being written. One a killed run
// left behind is never read, and Trim removes it once it is old.
const tmpPrefix = ".tmp-"

// Trim removes the least recently used entries until the store holds at
// most its size bound. Entries another run removes meanwhile are skipped.
func (c *Cache) Trim() error {
	stamp := filepath.Join(c.dir, trimStamp)
	if st, err := os.Stat(stamp); err == nil && c.written.Load() < c.maxBytes/20 && c.now().Sub(st.ModTime()) < time.Hour {
		return nil
	}
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return err
	}
	now := c.now()
	_ = os.Chtimes(stamp, now, now)
	c.written.Store(0)
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var entries []entry
	var total int64
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || p == stamp {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) && now.Sub(info.ModTime()) > time.Hour {
			_ = os.Remove(p) // left by a run that was killed while writing
			return nil
		}
		entries = append(entries, entry{p, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil || total <= c.maxBytes {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].used.Before(entries[j].used) })
	for _, e := range entries {
		if total <= c.maxBytes*9/10 {
			break
		}
		if err := os.Remove(e.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= e.size
		}
	}
	return nil
}

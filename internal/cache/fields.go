package cache

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Records are what the cache's callers keep that a warm run reads whole
// (a root's renders, a repository's memos): a header, then fields that each
// end with a NUL byte. No path, blob id, name or JSON text holds a NUL, so
// nothing needs escaping, and reading one costs a scan for NULs, where JSON
// cost most of a warm run. A value that does holds a NUL makes the record
// unwritable; its caller then keeps nothing rather than something wrong.

// ErrRecord is a record that is damaged or not of the expected kind.
var ErrRecord = errors.New("malformed cache record")

// Writer builds a record, in memory or, for Cache.PutRecord, straight into
// the entry's file.
type Writer struct {
	b    []byte
	bad  bool
	sink io.Writer // nil in memory
	err  error     // the sink's first
}

// NewWriter starts a record with header, a name and version of its format
// that Reader checks.
func NewWriter(header string, sizeHint int) *Writer {
	w := &Writer{b: make([]byte, 0, len(header)+1+sizeHint)}
	w.String(header)
	return w
}

// spillAt is how much a Writer with a sink holds before writing it out.
const spillAt = 64 << 10

func (w *Writer) spill() {
	if w.sink == nil || len(w.b) < spillAt {
		return
	}
	w.flush()
}

func (w *Writer) flush() {
	if w.err == nil {
		_, w.err = w.sink.Write(w.b)
	}
	w.b = w.b[:0]
}

// PutRecord stores under key the record write adds to after header,
// writing it to the entry's file as it goes: a memo of a large repository
// is never built whole in memory. Nothing is stored when a field held a
// NUL.
func (c *Cache) PutRecord(key, header string, write func(*Writer)) error {
	return c.put(key, func(f io.Writer) error {
		w := &Writer{b: make([]byte, 0, spillAt+4<<10), sink: f}
		w.String(header)
		write(w)
		w.flush()
		if w.bad {
			return ErrRecord
		}
		return w.err
	})
}

// String adds a field.
func (w *Writer) String(s string) {
	w.bad = w.bad || strings.IndexByte(s, 0) >= 0
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
	w.spill()
}

// Raw adds a field held as bytes.
func (w *Writer) Raw(s []byte) {
	w.bad = w.bad || bytes.IndexByte(s, 0) >= 0
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
	w.spill()
}

// Blob adds a field that may hold any bytes, NULs included (another
// record, say): its length, then its content.
func (w *Writer) Blob(b string) {
	w.Int(len(b))
	w.b = append(w.b, b...)
	w.b = append(w.b, 0)
	w.spill()
}

// Int adds a number.
func (w *Writer) Int(n int) {
	w.b = strconv.AppendInt(w.b, int64(n), 10)
	w.b = append(w.b, 0)
}

// Bool adds a flag.
func (w *Writer) Bool(v bool) {
	if v {
		w.b = append(w.b, '1', 0)
	} else {
		w.b = append(w.b, '0', 0)
	}
}

// Bytes returns the record built in memory, or ErrRecord when a field held
// a NUL.
func (w *Writer) Bytes() ([]byte, error) {
	if w.bad {
		return nil, ErrRecord
	}
	return w.b, nil
}

// Reader reads a record's fields in the order they were written. Fields
// are substrings of one string, so reading allocates nothing per field. The
// first field missing or malformed sets an error every later read keeps.
type Reader struct {
	rest string
	err  bool
}

// NewReader reads data, which must start with header; Err tells otherwise.
// Cache.GetString reads an entry as a string without copying it.
func NewReader(header string, data string) *Reader {
	r := &Reader{rest: data}
	if len(r.rest) == 0 || r.rest[len(r.rest)-1] != 0 || r.Field() != header {
		r.err = true
	}
	return r
}

// Field reads a field.
func (r *Reader) Field() string {
	if r.err {
		return ""
	}
	i := strings.IndexByte(r.rest, 0)
	if i < 0 {
		r.err = true
		return ""
	}
	s := r.rest[:i]
	r.rest = r.rest[i+1:]
	return s
}

// Blob reads a field Writer.Blob wrote.
func (r *Reader) Blob() string {
	n := r.Int()
	if r.err || n < 0 || n >= len(r.rest) || r.rest[n] != 0 {
		r.err = true
		return ""
	}
	s := r.rest[:n]
	r.rest = r.rest[n+1:]
	return s
}

// Int reads a number.
func (r *Reader) Int() int {
	n, err := strconv.Atoi(r.Field())
	if err != nil {
		r.err = true
	}
	return n
}

// Bool reads a flag.
func (r *Reader) Bool() bool {
	switch r.Field() {
	case "1":
		return true
	case "0":
		return false
	}
	r.err = true
	return false
}

// Count reads how many items follow, each of at least per fields (a field
// takes at least its NUL): a count the rest of the record cannot hold is an
// error, so a damaged record never makes its reader allocate more than the
// record's size.
func (r *Reader) Count(per int) int {
	n := r.Int()
	if r.err || n < 0 || n > len(r.rest)/max(per, 1) {
		r.err = true
		return 0
	}
	return n
}

// Fail marks the record malformed, for a reader that met a value it does
// not know.
func (r *Reader) Fail() { r.err = true }

// More tells whether fields are left and no read failed.
func (r *Reader) More() bool { return !r.err && r.rest != "" }

// Err is ErrRecord when a read failed or, once the record is read, when
// fields are left over.
func (r *Reader) Err() error {
	if r.err || r.rest != "" {
		return ErrRecord
	}
	return nil
}

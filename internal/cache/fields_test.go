package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	w := NewWriter("test/1", 0)
	w.String("a path/with spaces")
	w.Int(-42)
	w.Bool(true)
	w.Raw([]byte(`{"json":"value"}`))
	w.Blob("nested\x00record\x00")
	w.String("")
	w.Int(2)
	w.String("x")
	w.String("y")
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader("test/1", string(data))
	if got := r.Field(); got != "a path/with spaces" {
		t.Errorf("String = %q", got)
	}
	if got := r.Int(); got != -42 {
		t.Errorf("Int = %d", got)
	}
	if !r.Bool() {
		t.Error("Bool = false")
	}
	if got := r.Field(); got != `{"json":"value"}` {
		t.Errorf("Raw read back as %q", got)
	}
	if got := r.Blob(); got != "nested\x00record\x00" {
		t.Errorf("Blob read back as %q", got)
	}
	if got := r.Field(); got != "" {
		t.Errorf("empty field read back as %q", got)
	}
	n := r.Count(1)
	var items []string
	for range n {
		items = append(items, r.Field())
	}
	if len(items) != 2 || items[0] != "x" || items[1] != "y" {
		t.Errorf("items %q, want [x y]", items)
	}
	if r.More() {
		t.Error("More after the last field")
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

func TestRecordRejects(t *testing.T) {
	w := NewWriter("test/1", 0)
	w.String("a\x00b")
	if _, err := w.Bytes(); !errors.Is(err, ErrRecord) {
		t.Errorf("a field with a NUL: Bytes error %v, want ErrRecord", err)
	}
	w = NewWriter("test/1", 0)
	w.Raw([]byte{'x', 0})
	if _, err := w.Bytes(); !errors.Is(err, ErrRecord) {
		t.Errorf("a raw field with a NUL: Bytes error %v, want ErrRecord", err)
	}

	for _, tc := range []struct {
		name string
		data string
		read func(r *Reader)
	}{
		{"empty", "", func(r *Reader) {}},
		{"other header", "test/2\x00", func(r *Reader) {}},
		{"no final NUL", "test/1\x00abc", func(r *Reader) { r.Field() }},
		{"field missing", "test/1\x00", func(r *Reader) { r.Field() }},
		{"not a number", "test/1\x00x\x00", func(r *Reader) { r.Int() }},
		{"not a flag", "test/1\x00yes\x00", func(r *Reader) { r.Bool() }},
		{"negative count", "test/1\x00-1\x00", func(r *Reader) { r.Count(1) }},
		{"count past the end", "test/1\x003\x00a\x00b\x00", func(r *Reader) {
			for range r.Count(1) {
				r.Field()
			}
		}},
		{"huge count", "test/1\x0099999999999999\x00", func(r *Reader) { r.Count(1) }},
		{"blob past the end", "test/1\x005\x00ab\x00", func(r *Reader) { r.Blob() }},
		{"blob without its NUL", "test/1\x002\x00abc\x00", func(r *Reader) { r.Blob() }},
		{"fields left over", "test/1\x00a\x00b\x00", func(r *Reader) { r.Field() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader("test/1", tc.data)
			tc.read(r)
			if err := r.Err(); !errors.Is(err, ErrRecord) {
				t.Errorf("Err = %v, want ErrRecord", err)
			}
		})
	}
}

// FuzzRecord reads arbitrary bytes as a record of counted fields: never a
// panic, and a count never exceeds what the record can hold.
func FuzzRecord(f *testing.F) {
	f.Add([]byte("test/1\x002\x00a\x00b\x00"))
	f.Add([]byte("test/1\x00999\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader("test/1", string(data))
		n := r.Count(1)
		if n > len(data) {
			t.Fatalf("count %d in a record of %d bytes", n, len(data))
		}
		for range n {
			r.Field()
		}
		_ = r.Err()
	})
}

// TestPutRecord streams a record larger than the writer holds in memory
// into the cache, reads it back, and stores nothing for a record with a
// NUL in a field.
func TestPutRecord(t *testing.T) {
	c, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3 * spillAt / 10
	key, bad := Key("k"), Key("bad")
	err = c.PutRecord(key, "test/1", func(w *Writer) {
		w.Int(n)
		for i := range n {
			w.Blob(strings.Repeat("x", i%20))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	data, ok := c.GetString(key)
	if !ok {
		t.Fatal("the record is not in the cache")
	}
	r := NewReader("test/1", data)
	got := r.Count(1)
	for i := range got {
		if b := r.Blob(); b != strings.Repeat("x", i%20) {
			t.Fatalf("blob %d read back as %q", i, b)
		}
	}
	if got != n || r.Err() != nil {
		t.Errorf("read %d blobs (%v), want %d", got, r.Err(), n)
	}

	err = c.PutRecord(bad, "test/1", func(w *Writer) { w.String("a\x00b") })
	if !errors.Is(err, ErrRecord) {
		t.Errorf("a field with a NUL: PutRecord error %v, want ErrRecord", err)
	}
	if _, ok := c.Get(bad); ok {
		t.Error("a record with a NUL in a field was stored")
	}
	if entries, err := os.ReadDir(filepath.Dir(c.path(bad))); err != nil || len(entries) > 0 {
		t.Errorf("left behind %d files (%v)", len(entries), err)
	}
}

// TestGetString reads small and large entries as strings (a large one is
// mapped), and a string read stays as it was when the entry is replaced.
func TestGetString(t *testing.T) {
	c, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 10, mapAtLeast - 1, mapAtLeast, 3*mapAtLeast + 7} {
		key := Key("entry", strconv.Itoa(size))
		first := bytes.Repeat([]byte{'a'}, size)
		if err := c.Put(key, first); err != nil {
			t.Fatal(err)
		}
		got, ok := c.GetString(key)
		if !ok || got != string(first) {
			t.Fatalf("size %d: read %d bytes (%v)", size, len(got), ok)
		}
		if err := c.Put(key, bytes.Repeat([]byte{'b'}, size)); err != nil {
			t.Fatal(err)
		}
		if got != string(first) {
			t.Errorf("size %d: the string read changed when the entry was replaced", size)
		}
		if again, _ := c.GetString(key); again != strings.Repeat("b", size) {
			t.Errorf("size %d: the replaced entry reads back as %.10q...", size, again)
		}
	}
	if _, ok := c.GetString(Key("missing")); ok {
		t.Error("a missing entry was found")
	}
}

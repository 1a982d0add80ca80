package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTrim(t *testing.T) {
	c, err := Open(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.now = func() time.Time { return now }
	put := func(name string, size int, age time.Duration) string {
		t.Helper()
		key := Key(name)
		if err := c.Put(key, []byte(strings.Repeat("x", size))); err != nil {
			t.Fatal(err)
		}
		when := now.Add(-age)
		if err := os.Chtimes(c.path(key), when, when); err != nil {
			t.Fatal(err)
		}
		return key
	}
	oldest := put("oldest", 400, 3*time.Hour)
	older := put("older", 400, 2*time.Hour)
	recent := put("recent", 400, time.Minute)
	if err := c.Trim(); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{oldest: false, older: true, recent: true} {
		if _, ok := c.Get(key); ok != want {
			t.Errorf("after the first Trim, entry %s kept %v, want %v", key[:8], ok, want)
		}
	}

	// A run that wrote little does not walk the store again within the
	// hour: the bound is soft for that long. An hour later, or after a
	// run that wrote much, it does.
	stamp := func() time.Time {
		t.Helper()
		st, err := os.Stat(filepath.Join(c.dir, trimStamp))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	walked := stamp()
	for _, step := range []struct {
		later time.Duration
		write int
		walk  bool
	}{
		{later: time.Minute, write: 1, walk: false},
		{later: time.Minute, write: 60, walk: true},
		{later: time.Minute, write: 1, walk: false},
		{later: 61 * time.Minute, write: 1, walk: true},
	} {
		now = now.Add(step.later)
		put(fmt.Sprint(now), step.write, 0)
		if err := c.Trim(); err != nil {
			t.Fatal(err)
		}
		if got := stamp(); got.Equal(walked) == step.walk {
			t.Errorf("%v later, %d bytes written: walked %v, want %v", step.later, step.write, !got.Equal(walked), step.walk)
		}
		walked = stamp()
	}
}

// TestDamagedEntriesReadAsMissing edits stored entries the ways a disk, a
// crash or a hand can: every damaged entry reads as missing, through both
// readers and on both sides of the size from which entries are mapped.
func TestDamagedEntriesReadAsMissing(t *testing.T) {
	damage := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"a byte of the content changed, same length", func(b []byte) []byte { b[3] ^= 1; return b }},
		{"a byte of the digest changed", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-5] }},
		{"shorter than a digest", func(b []byte) []byte { return b[:7] }},
		{"empty", func([]byte) []byte { return nil }},
		{"content appended", func(b []byte) []byte { return append(b, "more"...) }},
	}
	for _, size := range []int{100, mapAtLeast + 10} {
		for _, d := range damage {
			t.Run(fmt.Sprintf("%s/%d bytes", d.name, size), func(t *testing.T) {
				c, err := Open(t.TempDir(), 0)
				if err != nil {
					t.Fatal(err)
				}
				key := Key("entry")
				want := strings.Repeat("record\x00", size/7+1)
				if err := c.Put(key, []byte(want)); err != nil {
					t.Fatal(err)
				}
				if got, ok := c.GetString(key); !ok || got != want {
					t.Fatalf("intact entry: ok=%v, %d bytes; want %d bytes", ok, len(got), len(want))
				}
				stored, err := os.ReadFile(c.path(key))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(c.path(key), d.edit(stored), 0o644); err != nil {
					t.Fatal(err)
				}
				if got, ok := c.Get(key); ok {
					t.Errorf("Get read a damaged entry: %d bytes", len(got))
				}
				buf := make([]byte, 0, 2*size)
				if got, ok := c.ReadInto(key, &buf); ok {
					t.Errorf("ReadInto read a damaged entry: %d bytes", len(got))
				}
				if got, ok := c.GetString(key); ok {
					t.Errorf("GetString read a damaged entry: %d bytes", len(got))
				}
			})
		}
	}
}

// TestReadInto reads entries of any size through one buffer: it grows for
// a larger entry and is reused, not replaced, for a smaller one.
func TestReadInto(t *testing.T) {
	c, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]string{"small": "abc", "large": strings.Repeat("x", 5000), "empty": ""}
	for k, v := range entries {
		if err := c.Put(Key(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	var buf []byte
	for _, k := range []string{"small", "large", "small", "empty", "large"} {
		before := cap(buf)
		got, ok := c.ReadInto(Key(k), &buf)
		if !ok || string(got) != entries[k] {
			t.Fatalf("%s: ok=%v, %q", k, ok, got)
		}
		if grew := cap(buf) != before; grew != (before < len(entries[k])+32) {
			t.Errorf("%s: the buffer went from %d to %d bytes", k, before, cap(buf))
		}
	}
	if _, ok := c.ReadInto(Key("absent"), &buf); ok {
		t.Error("read an absent entry")
	}
}

// TestPutAfterFolderGone: the folder of an entry is made once per
// process; if it is gone when the next entry goes there (another tool
// cleaned the cache), it is made again, and the entries read back whole.
func TestPutAfterFolderGone(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, second := Key("first"), Key("second")
	second = first[:2] + second[2:] // the same folder
	if err := c.Put(first, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, first[:2])); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(second, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Get(second); !ok || string(got) != "two" {
		t.Errorf("Get(second) = %q, %v; want \"two\"", got, ok)
	}
	if _, ok := c.Get(first); ok {
		t.Error("the removed entry reads back")
	}
}

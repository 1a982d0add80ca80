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

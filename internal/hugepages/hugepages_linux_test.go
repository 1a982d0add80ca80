package hugepages

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestDisablesTHP(t *testing.T) {
	for _, tt := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"disablethp=1", true},
		{"disablethp=0", false},
		{"gctrace=1,disablethp=1", true},
		{"disablethp=1, madvdontneed=1", true},
		{"disablethp=1,disablethp=0", false},
		{"disablethp=0,disablethp=1", true},
		{"xdisablethp=1", false},
		{"disablethp=", false},
	} {
		if got := disablesTHP(tt.godebug); got != tt.want {
			t.Errorf("disablesTHP(%q) = %v, want %v", tt.godebug, got, tt.want)
		}
	}
}

// TestAdviseHeap checks, in the kernel's own account of this process's
// memory, that the heap range adviseHeap returns is marked for huge pages.
func TestAdviseHeap(t *testing.T) {
	size := hugePageSize()
	if size == 0 {
		t.Skip("the kernel does not give transparent huge pages on request here")
	}
	start, end, err := adviseHeap(HeapReserve, size)
	if err != nil {
		t.Fatalf("madvise: %v", err)
	}
	if end-start < HeapReserve || start%size != 0 || end%size != 0 {
		t.Fatalf("advised [%#x, %#x): not the %d bytes asked for in whole %d-byte pages", start, end, HeapReserve, size)
	}
	covered := uintptr(0)
	for _, m := range mappings(t) {
		lo, hi := max(m.start, start), min(m.end, end)
		if lo >= hi {
			continue
		}
		if !m.hugePages {
			t.Errorf("mapping [%#x, %#x) of the advised range is not marked for huge pages", m.start, m.end)
		}
		covered += hi - lo
	}
	if covered != end-start {
		t.Errorf("the process maps %d of the %d bytes advised", covered, end-start)
	}
}

type mapping struct {
	start, end uintptr
	hugePages  bool
}

// mappings reads /proc/self/smaps: each mapping's range, and whether its
// VmFlags hold "hg", the mark MADV_HUGEPAGE leaves.
func mappings(t *testing.T) []mapping {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var ms []mapping
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && len(ms) > 0 {
			ms[len(ms)-1].hugePages = strings.Contains(" "+flags+" ", " hg ")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasSuffix(fields[0], ":") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		ms = append(ms, mapping{start: uintptr(start), end: uintptr(end)})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return ms
}

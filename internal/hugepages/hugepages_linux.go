package hugepages

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

func init() { reserve() }

// HeapReserve is how much of the heap is asked huge pages for: what a hook
// or a warm diff uses, with room.
const HeapReserve = 32 << 20

const madvHugePage = 14 // MADV_HUGEPAGE

// reserve asks the kernel to back the next HeapReserve bytes of the heap
// with huge pages.
//
// Each 4 KB page the heap touches first costs a page fault, ~15 µs on the
// virtual machines CI runs on: a pre-commit hook that touches 25 MB spent a
// quarter of its time in them. With transparent huge pages in "madvise"
// mode, the default of most distributions, the kernel backs a region with
// 2 MB pages only when the program asks, and the Go runtime has stopped
// asking (Go 1.21.1). So this allocates HeapReserve bytes and never touches
// them: the runtime maps address space for them, the kernel gives no page
// yet. That range is advised for huge pages, and a collection frees the
// allocation: the heap, which takes the lowest free addresses first, grows
// into it. The collection is forced (~6 ms): the one the allocation's size
// sets off may still find it referenced from the allocating call, and keep
// it until the heap doubles past it, on 4 KB pages meanwhile.
//
// Nothing depends on it: on another kernel setting, or should the runtime
// place memory otherwise, the heap gets 4 KB pages as before.
// GODEBUG=disablethp=1, the runtime's own switch for huge pages, turns it
// off.
func reserve() {
	if disablesTHP(os.Getenv("GODEBUG")) {
		return
	}
	if size := hugePageSize(); size > 0 {
		_, _, _ = adviseHeap(HeapReserve, size)
		runtime.GC()
	}
}

// adviseHeap allocates n bytes, advises the huge pages that hold them and
// returns their range. Only the range is kept: the allocation is garbage
// when it returns.
func adviseHeap(n int, pageSize uintptr) (start, end uintptr, err error) {
	start = uintptr(unsafe.Pointer(unsafe.SliceData(make([]byte, n))))
	end = start + uintptr(n)
	start &^= pageSize - 1
	end = (end + pageSize - 1) &^ (pageSize - 1)
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvHugePage); errno != 0 {
		return start, end, errno
	}
	return start, end, nil
}

// hugePageSize returns the size of the kernel's transparent huge pages
// when it gives them to the regions a program advises, and only to those;
// 0 otherwise.
func hugePageSize() uintptr {
	const sys = "/sys/kernel/mm/transparent_hugepage/"
	mode, err := os.ReadFile(sys + "enabled")
	if err != nil || !bytes.Contains(mode, []byte("[madvise]")) {
		return 0
	}
	size, err := os.ReadFile(sys + "hpage_pmd_size")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(size)), 10, 64)
	if err != nil || n == 0 || n&(n-1) != 0 || n > HeapReserve {
		return 0
	}
	return uintptr(n)
}

// disablesTHP tells whether a GODEBUG value turns huge pages off; as for
// the runtime, the last setting of a name wins.
func disablesTHP(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "disablethp="); ok {
			off = v == "1"
		}
	}
	return off
}

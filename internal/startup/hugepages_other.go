//go:build !linux

package startup

// hugePages does nothing where the kernel's huge pages are not asked for
// with madvise.
func hugePages() {}

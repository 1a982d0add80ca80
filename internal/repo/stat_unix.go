//go:build linux || darwin

package repo

import (
	"os"
	"syscall"
)

// statOf is the status data Git's index compares of a file (cleanStat).
func statOf(fi os.FileInfo) (fileStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}, false
	}
	return statFrom(st), true
}

func statFrom(st *syscall.Stat_t) fileStat {
	return fileStat{size: st.Size, mtime: mtime(st), ctime: ctime(st), ino: uint64(st.Ino), dev: uint64(st.Dev), uid: st.Uid, gid: st.Gid}
}

//go:build linux || darwin

package repo

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// sameStat tells whether a file's status data still matches what Git's
// index recorded when it staged the file, field by field as Git compares
// them (ctime, inode, device, owner, size; the index keeps the low 32 bits
// of each): a copy with `cp -p`, a chmod or a rewrite in place changes the
// ctime even when it keeps the size and modification time.
func sameStat(fi os.FileInfo, e *index.Entry) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return sameStatData(ctime(st), uint64(st.Ino), uint64(st.Dev), st.Uid, st.Gid, e)
}

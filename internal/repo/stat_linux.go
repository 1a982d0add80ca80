package repo

import (
	"syscall"
	"time"
)

func ctime(st *syscall.Stat_t) time.Time { return time.Unix(st.Ctim.Unix()) }

func mtime(st *syscall.Stat_t) time.Time { return time.Unix(st.Mtim.Unix()) }

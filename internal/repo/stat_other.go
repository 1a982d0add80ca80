//go:build !linux && !darwin

package repo

import "os"

// statOf cannot give what Git records of a file without Unix status data:
// every file is read and hashed instead.
func statOf(os.FileInfo) (fileStat, bool) { return fileStat{}, false }

//go:build linux || darwin

package repo

import (
	"io/fs"
	"syscall"
)

// readFile reads the file at name as os.ReadFile does, errors included,
// with less than half its system calls: os.Open registers every file with the
// runtime's poller, which a regular file refuses, and sets its mode back
// and forth around that (six calls more per file). A cold render reads a
// thousand files; on a virtual machine each call costs microseconds.
func readFile(name string) ([]byte, error) {
	data, _, _, err := readFileStat(name)
	return data, err
}

// readFileStat is readFile, and the status data of the regular file it
// read (false for another kind of file): the call that sizes the buffer
// returns it.
func readFileStat(name string) (data []byte, stat fileStat, regular bool, err error) {
	var fd int
	err = retry(func() (err error) {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, fileStat{}, false, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	size := 512
	if err := retry(func() error { return syscall.Fstat(fd, &st) }); err == nil {
		regular = st.Mode&syscall.S_IFMT == syscall.S_IFREG
		stat = statFrom(&st)
		if st.Size > 0 && st.Size < 1<<40 {
			size = int(st.Size) + 1 // one more, to read the end of the file in the same buffer
		}
	}
	data = make([]byte, 0, size)
	for {
		var n int
		err := retry(func() (err error) {
			n, err = syscall.Read(fd, data[len(data):cap(data)])
			return err
		})
		if err != nil {
			return data, stat, regular, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return data, stat, regular, nil
		}
		data = data[:len(data)+n]
		if int64(len(data)) == st.Size && len(data) < cap(data) {
			// All the file said it holds, and a read that asked for
			// more: the end, without a call to be told so.
			return data, stat, regular, nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// retry runs call again while a signal interrupts it.
func retry(call func() error) error {
	for {
		if err := call(); err != syscall.EINTR {
			return err
		}
	}
}

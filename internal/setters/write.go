package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrModified is wrapped by WriteAtomic's error when the file no longer holds
// what it held when it was read.
var ErrModified = errors.New("the file changed since it was read")

// WriteAtomic replaces the content of the file at path, old, with new: it
// writes new to a temporary file in the same folder and renames it over the
// file, so that a reader sees either the old or the new content, never a
// part. It refuses, writing nothing, when the file's content is no longer old.
// The file keeps mode (its permission bits, setuid, setgid and sticky bits),
// or its current mode when mode is 0. A symlink is written through, like the
// controller does: the file it points to is replaced and the link stays.
func WriteAtomic(path string, old, new []byte, mode fs.FileMode) (err error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := unchanged(path, target, old); err != nil {
		return err
	}
	if mode == 0 {
		info, err := os.Stat(target)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		mode = info.Mode()
	}
	mode &= fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(new); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Check again just before the rename, to keep the window in which a
	// concurrent edit would be lost as small as it can be.
	if err := unchanged(path, target, old); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(filepath.Dir(target))
	return nil
}

// unchanged checks that the file at target still holds old.
func unchanged(path, target string, old []byte) error {
	cur, err := os.ReadFile(target)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if !bytes.Equal(cur, old) {
		return fmt.Errorf("%s: %w: not writing it (read it again and retry)", path, ErrModified)
	}
	return nil
}

// syncDir flushes a folder's entries so that a rename survives a crash; it
// is best effort, as not every system can sync a folder.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

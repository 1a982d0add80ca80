package repo

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReadFileAsOS: readFile gives what os.ReadFile gives, content and
// errors, for files of every size, a file whose size its status does not
// tell, a symbolic link, a directory and a missing file.
func TestReadFileAsOS(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 70_000)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", []byte("kind: ConfigMap\n")), link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":     write("empty", nil),
		"one byte":  write("one", []byte("x")),
		"512 bytes": write("512", bytes.Repeat([]byte("y"), 512)),
		"large":     write("large", big),
		"symlink":   link,
		"directory": dir,
		"missing":   filepath.Join(dir, "missing"),
	}
	if runtime.GOOS == "linux" {
		cases["size unknown to stat"] = "/proc/self/cmdline"
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := os.ReadFile(p)
			got, err := readFile(p)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("error %v, want %v", err, wantErr)
			}
			if errors.Is(wantErr, fs.ErrNotExist) != errors.Is(err, fs.ErrNotExist) {
				t.Errorf("errors.Is(ErrNotExist) differs: %v", err)
			}
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("read %d bytes (%q...), want %d", len(got), strings.ToValidUTF8(string(got[:min(len(got), 20)]), "?"), len(want))
			}
		})
	}
}

package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
)

func tarball(t testing.TB, entries ...*tar.Header) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("a"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestUntar(t *testing.T) {
	file := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}
	}
	tests := []struct {
		name    string
		entries []*tar.Header
		want    []string
		err     string
	}{
		{name: "files, a symlink and a directory left out", entries: []*tar.Header{
			{Name: "apps/", Typeflag: tar.TypeDir, Mode: 0o755}, file("apps/a.yaml", 3), file("./b.yaml", 1),
			{Name: "link.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		}, want: []string{"apps/a.yaml", "b.yaml"}},
		{name: "a path leaving the artifact", entries: []*tar.Header{file("../../etc/x.yaml", 1)}, err: "leaves the artifact"},
		{name: "past the limit", entries: []*tar.Header{file("a.yaml", 60), file("b.yaml", 60)}, err: "more than 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := untar(tarball(t, tt.entries...), 100)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tree := repo.Memory(files, "test")
			for _, p := range tt.want {
				if k, err := tree.Stat(p); err != nil || k != repo.File {
					t.Errorf("%s: %v %v", p, k, err)
				}
			}
			if len(files) != len(tt.want) {
				t.Errorf("files %v, want %v", files, tt.want)
			}
			if entries, err := tree.ReadDir("apps"); len(tt.want) > 0 && (err != nil || len(entries) != 1) {
				t.Errorf("apps: %v %v", entries, err)
			}
		})
	}
	if _, err := untar([]byte("not gzip"), 100); err == nil {
		t.Error("a layer that is not gzip was read")
	}
}

// FuzzUntar reads any layer as an artifact: no panic, no file outside the
// artifact, never more than the limit.
func FuzzUntar(f *testing.F) {
	f.Add(tarball(f, &tar.Header{Name: "a.yaml", Size: 3, Mode: 0o644, Typeflag: tar.TypeReg}))
	f.Add(tarball(f, &tar.Header{Name: "../x", Size: 1, Mode: 0o644, Typeflag: tar.TypeReg}))
	f.Add([]byte("not a tarball"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := untar(data, 1<<12)
		if err != nil {
			return
		}
		total := 0
		for name, content := range files {
			if name == ".." || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") || name == "." {
				t.Fatalf("%q leaves the artifact", name)
			}
			total += len(content)
		}
		if total > 1<<12 {
			t.Fatalf("%d bytes read past the limit", total)
		}
	})
}

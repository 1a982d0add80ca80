package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
)

// examples is the folder of example repositories shared by the project's
// tests.
const examples = "../../testdata/examples"

// valueLine matches a line ending with a scalar value: "key: value" or
// "- value", with no comment yet.
var valueLine = regexp.MustCompile(`^(\s*(?:- )*(?:[^\s#'"][^#'"]*?: |- ))([^\s#|>&*!{\[][^#]*?)\s*$`)

// withMarkers returns data with a ":tag" marker of its own policy appended to
// every line that ends with a value, so that the property tests exercise
// every kind of scalar the examples hold. Find decides which of them are
// markers (those in block scalars, for one, are not).
func withMarkers(data []byte) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	for i, l := range lines {
		body := strings.TrimRight(l, "\r\n")
		// A more indented next line continues a multi-line plain value,
		// which a comment would end.
		continued := i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && indent(lines[i+1]) > indent(l)
		if valueLine.MatchString(body) && !continued {
			lines[i] = body + fmt.Sprintf(` # {"$imagepolicy": "rt:p%d:tag"}`, i) + l[len(body):]
		}
	}
	return []byte(strings.Join(lines, ""))
}

// currentValues returns the policies under which every marker already holds
// its value.
func currentValues(ms []markers.Marker) map[markers.Policy]Latest {
	values := map[markers.Policy]Latest{}
	for _, m := range ms {
		l := values[m.Policy]
		switch m.Field {
		case markers.FieldTag:
			l.Tag = m.Value
		case markers.FieldName:
			l.Name = m.Value
		case markers.FieldDigest:
			l.Digest = m.Value
		default:
			ref, digest, _ := strings.Cut(m.Value, "@")
			i := strings.LastIndex(ref, ":")
			l.Name, l.Tag, l.Digest = ref[:max(i, 0)], ref[i+1:], digest
		}
		values[m.Policy] = l
	}
	return values
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(examples, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !markers.Skip(p) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no YAML files under %s", examples)
	}
	return files
}

// TestRoundTripExamples checks, on every YAML file of the examples as it is,
// with a marker added to each value and with CRLF line ends, that an update
// that changes nothing leaves every byte, and that an update of one tag
// changes only the bytes of that scalar.
func TestRoundTripExamples(t *testing.T) {
	for _, file := range exampleFiles(t) {
		orig, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		variants := []struct {
			name string
			data []byte
		}{
			{"as is", orig},
			{"marked", withMarkers(orig)},
			{"marked, CRLF", bytes.ReplaceAll(withMarkers(orig), []byte("\n"), []byte("\r\n"))},
		}
		for _, v := range variants {
			rel, _ := filepath.Rel(examples, file)
			t.Run(filepath.ToSlash(rel)+"/"+v.name, func(t *testing.T) {
				roundTrip(t, v.data)
			})
		}
	}
}

func roundTrip(t *testing.T, data []byte) {
	ms, err := markers.Find("f.yaml", data)
	if errors.Is(err, markers.ErrUnreadable) {
		t.Skipf("Flux skips this file: %v", err)
	}
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	out, changes, err := Apply(data, ms, currentValues(ms))
	if err != nil {
		t.Fatalf("no-op Apply: %v", err)
	}
	if !bytes.Equal(out, data) || len(changes) != 0 {
		t.Fatalf("no-op Apply changed the content (%d changes)", len(changes))
	}
	// One change at a time, over a sample of the markers: fewer in the
	// largest files, each change reading the whole file twice.
	limit := 20
	switch {
	case len(data) > 100<<10:
		limit = 3
	case len(data) > 20<<10:
		limit = 6
	}
	step := max(len(ms)/limit, 1)
	newTags := []string{"v9.9.9-rt", "1.10", "yes"}
	for i := 0; i < len(ms); i += step {
		m := ms[i]
		if m.Field != markers.FieldTag {
			continue
		}
		values := currentValues(ms)
		tag := newTags[i%len(newTags)]
		l := values[m.Policy]
		l.Tag = tag
		values[m.Policy] = l
		out, changes, err := Apply(data, ms, values)
		if err != nil {
			t.Fatalf("marker %s at line %d: %v", m.Setter(), m.Line, err)
		}
		if len(changes) != 1 || changes[0].New != tag {
			t.Fatalf("marker %s at line %d: changes %+v", m.Setter(), m.Line, changes)
		}
		tail := len(data) - m.End
		if !bytes.Equal(out[:m.Start], data[:m.Start]) || !bytes.Equal(out[len(out)-tail:], data[m.End:]) {
			t.Fatalf("marker %s at line %d: bytes outside [%d,%d) changed", m.Setter(), m.Line, m.Start, m.End)
		}
		got, err := markers.Find("f.yaml", out)
		if err != nil || len(got) != len(ms) || got[i].Value != tag {
			t.Fatalf("marker %s at line %d: the result does not read back: %v", m.Setter(), m.Line, err)
		}
	}
}

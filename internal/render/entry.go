package render

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kfs"
)

// entry is one cached render of a root: the observations it depended on,
// where its output is, and what a warm run needs of it without reading the
// output.
type entry struct {
	Observations []kfs.Observation
	Output       string
	Produced     []Produced
	Origins      []Origin
}

// A root's cached renders are stored in a form of their own rather than as
// JSON: a warm run reads the list of every root, and decoding JSON was most
// of its time. Every field ends with a NUL, which no path, blob id, kind or
// name holds; a render with a field that would (a ConfigMap value, say) is
// not cached.
const entriesHeader = "render-entries/2\x00"

var errEntries = errors.New("malformed cache entry")

func encodeEntries(entries []entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(entriesHeader)
	bad := false
	field := func(s string) {
		bad = bad || strings.IndexByte(s, 0) >= 0
		b.WriteString(s)
		b.WriteByte(0)
	}
	field(strconv.Itoa(len(entries)))
	for _, en := range entries {
		field(en.Output)
		field(strconv.Itoa(len(en.Produced)))
		for _, p := range en.Produced {
			field(p.Kind)
			field(p.Namespace)
			field(p.Name)
			field(strconv.FormatBool(p.SOPS))
			field(strconv.Itoa(len(p.Data)))
			for _, k := range slices.Sorted(maps.Keys(p.Data)) {
				field(k)
				field(p.Data[k])
			}
		}
		field(strconv.Itoa(len(en.Observations)))
		for _, o := range en.Observations {
			field(string(o.Op))
			field(o.Path)
			field(o.Value)
		}
		field(strconv.Itoa(len(en.Origins)))
		for _, o := range en.Origins {
			field(o.File)
			field(o.Kind)
			field(o.Name)
			field(o.Generator)
		}
	}
	if bad {
		return nil, errEntries
	}
	return b.Bytes(), nil
}

func decodeEntries(data []byte) ([]entry, error) {
	rest, ok := bytes.CutPrefix(data, []byte(entriesHeader))
	if !ok || len(rest) == 0 || rest[len(rest)-1] != 0 {
		return nil, errEntries
	}
	// One string, cut into fields that share its memory.
	d := entryDecoder{fields: strings.Split(string(rest[:len(rest)-1]), "\x00")}
	n := d.count(1)
	out := make([]entry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var en entry
		en.Output = d.next()
		if n := d.count(5); n > 0 {
			en.Produced = make([]Produced, n)
			for j := range en.Produced {
				p := &en.Produced[j]
				p.Kind, p.Namespace, p.Name = d.next(), d.next(), d.next()
				p.SOPS = d.next() == "true"
				if n := d.count(2); n > 0 {
					p.Data = make(map[string]string, n)
					for range n {
						k := d.next()
						p.Data[k] = d.next()
					}
				}
			}
		}
		en.Observations = make([]kfs.Observation, d.count(3))
		for j := range en.Observations {
			en.Observations[j] = kfs.Observation{Op: kfs.Op(d.next()), Path: d.next(), Value: d.next()}
		}
		en.Origins = make([]Origin, d.count(4))
		for j := range en.Origins {
			en.Origins[j] = Origin{File: d.next(), Kind: d.next(), Name: d.next(), Generator: d.next()}
		}
		if len(en.Origins) == 0 {
			en.Origins = nil
		}
		out = append(out, en)
	}
	if d.err != nil || len(d.fields) > 0 {
		return nil, errEntries
	}
	return out, nil
}

type entryDecoder struct {
	fields []string
	err    error
}

func (d *entryDecoder) next() string {
	if len(d.fields) == 0 {
		d.err = errEntries
		return ""
	}
	s := d.fields[0]
	d.fields = d.fields[1:]
	return s
}

// count reads a count of items of per fields each, no more than are left.
func (d *entryDecoder) count(per int) int {
	n, err := strconv.Atoi(d.next())
	if err != nil || n < 0 || n > len(d.fields)/per {
		d.err = errEntries
		return 0
	}
	return n
}

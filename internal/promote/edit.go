package promote

import (
	"bytes"
	"fmt"
	"sort"
)

// edit replaces the bytes [start, end) of a file with text.
type edit struct {
	start, end int
	text       string
	changes    []pending
}

// pending is a Change whose line in the new content is known once the
// edits are applied: the line of the offset rel into the edit's text.
type pending struct {
	Change
	rel int
}

func (e *edit) note(c Change, rel int) {
	e.changes = append(e.changes, pending{Change: c, rel: rel})
}

// apply applies edits to data and returns the new content and the
// changes, their lines set.
func apply(file string, data []byte, edits []*edit) ([]byte, []Change, error) {
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		return edits[i].end < edits[j].end
	})
	var out bytes.Buffer
	last := 0
	starts := make([]int, len(edits))
	for i, e := range edits {
		if e.start < last || e.end < e.start || e.end > len(data) {
			return nil, nil, fmt.Errorf("%s: two changes overlap at byte %d: %w", file, e.start, ErrCannotRewrite)
		}
		out.Write(data[last:e.start])
		starts[i] = out.Len()
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(data[last:])
	result := out.Bytes()
	t := newText(result)
	var changes []Change
	for i, e := range edits {
		for _, p := range e.changes {
			c := p.Change
			c.Line = t.lineNo(starts[i] + p.rel)
			changes = append(changes, c)
		}
	}
	return result, changes, nil
}

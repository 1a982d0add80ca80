package promote

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diag"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamlscalar"
)

// kustomizationEdits returns the edits of the target's images list and the
// number of markers they remove.
func (p *planner) kustomizationEdits() ([]*edit, int, error) {
	var edits []*edit
	for _, e := range p.dst.entries {
		w := p.entryWant[e]
		if w == nil {
			continue
		}
		es, err := p.entryEdits(e, w)
		if err != nil {
			return nil, 0, err
		}
		edits = append(edits, es...)
	}
	if len(p.added) > 0 {
		es, err := p.addEntries()
		if err != nil {
			return nil, 0, err
		}
		edits = append(edits, es...)
	}
	dropped := 0
	for _, e := range edits {
		for _, c := range e.changes {
			if c.Action == Remove && c.Marker != "" {
				dropped++
			}
		}
	}
	return edits, dropped, nil
}

// entryEdits makes target entry e hold the version keys of w: a version key
// with another value is rewritten in place, one w does not set is removed
// with its line, one w sets that e lacks is added on a line of its own, in
// place of a removed one where there is one.
func (p *planner) entryEdits(e *entry, w *want) ([]*edit, error) {
	t := p.dst.t
	var (
		edits     []*edit
		removals  []*field
		additions []string
		// refill holds the keys written as nothing (null) that are to get
		// a value: their line is replaced.
		refill = map[string]bool{}
	)
	for _, k := range versionKeys {
		f := e.fields[k]
		v, wanted := w.version[k]
		switch {
		case wanted && f != nil:
			if f.set() && f.str() == v {
				continue
			}
			sp, why := t.scalarSpan(f.value, e.flow)
			if why != "" {
				return nil, p.cannot(f.value.Line, e, k, why)
			}
			if sp.start == sp.end {
				refill[k] = true
				removals = append(removals, f)
				additions = append(additions, k)
				continue
			}
			ed := &edit{start: sp.start, end: sp.end, text: yamlscalar.Encode(v, yamlscalar.StyleOf(f.value), e.flow)}
			ed.note(Change{File: p.dst.file, Image: w.image, Field: k, Action: Set, Old: f.str(), New: v, Marker: p.setter(e, f)}, 0)
			edits = append(edits, ed)
		case wanted:
			additions = append(additions, k)
		case f.set():
			removals = append(removals, f)
		}
	}
	if len(removals)+len(additions) == 0 {
		return edits, nil
	}
	if e.flow {
		return nil, diag.Errorf(p.dst.file, e.node.Line,
			"images entry %s is written in flow style ({...}): write it as a block mapping (- name: ...) so that promote can add or remove its version keys", e.name)
	}
	// Pair each addition with a removal whose line it takes: a refilled
	// key with its own line first, then in order.
	pairs := map[string]*field{}
	used := map[*field]bool{}
	for _, k := range additions {
		if refill[k] {
			pairs[k], used[e.fields[k]] = e.fields[k], true
		}
	}
	for _, k := range additions {
		if pairs[k] != nil {
			continue
		}
		for _, f := range removals {
			if !used[f] {
				pairs[k], used[f] = f, true
				break
			}
		}
	}
	deleted := map[*field]bool{}
	for _, f := range removals {
		if !used[f] {
			deleted[f] = true
		}
	}
	for _, k := range additions {
		v := w.version[k]
		var ed *edit
		var err error
		if f := pairs[k]; f != nil {
			ed, err = p.replaceLine(e, f, k, v)
			if err == nil && !refill[k] {
				ed.note(Change{File: p.dst.file, Image: w.image, Field: f.key.Value, Action: Remove,
					Old: f.str(), Marker: p.setter(e, f)}, 0)
			}
			if err == nil {
				action := Add
				if refill[k] {
					action = Set
				}
				ed.note(Change{File: p.dst.file, Image: w.image, Field: k, Action: action, New: v}, 0)
			}
		} else {
			var rel int
			ed, rel, err = p.insertKey(e, k, v, deleted)
			if err == nil {
				ed.note(Change{File: p.dst.file, Image: w.image, Field: k, Action: Add, New: v}, rel)
			}
		}
		if err != nil {
			return nil, err
		}
		edits = append(edits, ed)
	}
	for _, f := range removals {
		if !deleted[f] {
			continue
		}
		ed, err := p.deleteLine(e, f)
		if err != nil {
			return nil, err
		}
		ed.note(Change{File: p.dst.file, Image: w.image, Field: f.key.Value, Action: Remove,
			Old: f.str(), Marker: p.setter(e, f)}, 0)
		edits = append(edits, ed)
	}
	return edits, nil
}

// cannot reports a field of a target entry that cannot be rewritten.
func (p *planner) cannot(line int, e *entry, key, why string) error {
	return &diag.Error{File: p.dst.file, Line: line,
		Msg: fmt.Sprintf("cannot promote %s of images entry %s: %s; edit it by hand", key, e.name, why), Err: ErrCannotRewrite}
}

// setter returns the setter of the marker on field f of entry e, or "".
func (p *planner) setter(e *entry, f *field) string {
	if m, ok := p.dst.marker(f.value, e.flow); ok {
		return m.Setter()
	}
	return ""
}

// fieldLines returns where field f of entry e is: the offset of its key,
// the end of its value, and whether the key starts its line (it does not
// on the entry's first line, after the dash).
func (p *planner) fieldLines(e *entry, f *field) (keyStart, valueEnd int, own bool, err error) {
	t := p.dst.t
	keyStart = t.valueStart(f.key)
	valueEnd, why := t.nodeEnd(f.value, false)
	if keyStart < 0 {
		why = "its place in the file is unknown"
	}
	if why != "" {
		return 0, 0, false, p.cannot(f.key.Line, e, f.key.Value, why)
	}
	rest := strings.TrimLeft(string(t.data[valueEnd:t.lineEnd(valueEnd)]), " \t")
	if rest != "" && rest[0] != '#' {
		return 0, 0, false, p.cannot(f.key.Line, e, f.key.Value, "something follows its value on the line")
	}
	_, own = t.indentOf(keyStart)
	if !own {
		before := strings.TrimSpace(string(t.data[t.lineStart(keyStart):keyStart]))
		if strings.Trim(before, "- ") != "" {
			return 0, 0, false, p.cannot(f.key.Line, e, f.key.Value, "it does not start its line")
		}
	}
	return keyStart, valueEnd, own, nil
}

// replaceLine writes key k with value v over the line(s) of field f,
// keeping the indentation, the dash of the entry's first line and the line
// break; a comment on the replaced line goes with it.
func (p *planner) replaceLine(e *entry, f *field, k, v string) (*edit, error) {
	keyStart, valueEnd, _, err := p.fieldLines(e, f)
	if err != nil {
		return nil, err
	}
	style := yamlscalar.StyleOf(f.value)
	if f.value.Tag == "!!null" {
		style = yamlscalar.Plain
	}
	return &edit{start: keyStart, end: p.dst.t.lineEnd(valueEnd), text: k + ": " + yamlscalar.Encode(v, style, false)}, nil
}

// deleteLine removes the line(s) of field f.
func (p *planner) deleteLine(e *entry, f *field) (*edit, error) {
	t := p.dst.t
	keyStart, valueEnd, own, err := p.fieldLines(e, f)
	if err != nil {
		return nil, err
	}
	if !own {
		return nil, p.cannot(f.key.Line, e, f.key.Value,
			"it is on the entry's first line, after the dash: move name: to the first line")
	}
	return &edit{start: t.lineStart(keyStart), end: t.lineNext(valueEnd)}, nil
}

// insertKey adds key k with value v to entry e on a line of its own, below
// the key preceding it in kustomize's order.
func (p *planner) insertKey(e *entry, k, v string, deleted map[*field]bool) (*edit, int, error) {
	t := p.dst.t
	var prev *field
	for _, key := range e.order {
		f := e.fields[key]
		if deleted[f] || rank(key) >= rank(k) {
			continue
		}
		if prev == nil || rank(key) >= rank(prev.key.Value) {
			prev = f
		}
	}
	if prev == nil {
		prev = e.fields[keyName]
	}
	_, valueEnd, _, err := p.fieldLines(e, prev)
	if err != nil {
		return nil, 0, err
	}
	at := t.lineNext(valueEnd)
	text, rels := insertion(t, at, []string{strings.Repeat(" ", e.node.Column-1) + k + ": " + yamlscalar.Encode(v, yamlscalar.Plain, false)})
	return &edit{start: at, end: at, text: text}, rels[0], nil
}

// insertion returns the text that inserts lines at offset at, the start
// of a line or the end of the file, and the offset of each line in it: each
// line is followed by the file's line break or, at the end of a file whose
// last line has none, preceded by one.
func insertion(t *text, at int, lines []string) (string, []int) {
	eol := t.eol()
	lead := at == len(t.data) && t.lineStart(at) != at
	var b strings.Builder
	rels := make([]int, len(lines))
	for i, l := range lines {
		if lead {
			b.WriteString(eol)
		}
		rels[i] = b.Len()
		b.WriteString(l)
		if !lead {
			b.WriteString(eol)
		}
	}
	return b.String(), rels
}

// addEntries appends the images the target has no entry for to its images
// list, adding the list when there is none.
func (p *planner) addEntries() ([]*edit, error) {
	k, t := p.dst, p.dst.t
	var template []string
	if n := len(k.entries); n > 0 {
		template = k.entries[n-1].order
	}
	var edits []*edit
	var at, dash, keyOff int
	var head string
	switch {
	case k.images != nil && k.images.Kind == yaml.SequenceNode && len(k.images.Content) > 0:
		if k.images.Style&yaml.FlowStyle != 0 {
			return nil, diag.Errorf(k.file, k.images.Line,
				"images is a flow-style list ([...]): write it as a block list (- name: ...) so that promote can add %s", p.added[0].entry.name)
		}
		last := k.images.Content[len(k.images.Content)-1]
		end, why := t.nodeEnd(last, false)
		if why != "" {
			return nil, &diag.Error{File: k.file, Line: last.Line, Msg: "cannot find the end of the images list: " + why, Err: ErrCannotRewrite}
		}
		at, dash, keyOff = t.lineNext(end), k.images.Column-1, 2
		for i := len(k.images.Content) - 1; i >= 0; i-- {
			if item := k.images.Content[i]; item.Kind == yaml.MappingNode && item.Style&yaml.FlowStyle == 0 && item.Column > k.images.Column {
				keyOff = item.Column - k.images.Column
				break
			}
		}
	case k.images != nil:
		// images: with no value, null or [].
		ed, end, err := p.emptyImages()
		if err != nil {
			return nil, err
		}
		if ed != nil {
			edits = append(edits, ed)
		}
		dashOff, off := k.listStyle()
		at, dash, keyOff = t.lineNext(end), k.imagesKey.Column-1+dashOff, off
	default:
		end, err := p.documentEnd()
		if err != nil {
			return nil, err
		}
		col := 0
		if k.root != nil {
			col = k.root.Column - 1
		}
		dashOff, off := k.listStyle()
		at, dash, keyOff = end, col+dashOff, off
		head = strings.Repeat(" ", col) + "images:"
	}
	var lines []string
	var notes []Change
	if head != "" {
		lines, notes = append(lines, head), append(notes, Change{})
	}
	for _, u := range p.added {
		for i, key := range orderKeys(u.entry, template) {
			indent := strings.Repeat(" ", dash+keyOff)
			if i == 0 {
				indent = strings.Repeat(" ", dash) + "-" + strings.Repeat(" ", keyOff-1)
			}
			v := u.entry.fields[key].str()
			lines = append(lines, indent+key+": "+yamlscalar.Encode(v, yamlscalar.Plain, false))
			notes = append(notes, Change{File: k.file, Image: u.entry.name, Field: key, Action: Add, New: v})
		}
	}
	text, rels := insertion(t, at, lines)
	ed := &edit{start: at, end: at, text: text}
	for i, c := range notes {
		if c.File != "" {
			ed.note(c, rels[i])
		}
	}
	return append(edits, ed), nil
}

// orderKeys returns the keys of a source entry to write in a new entry:
// name, newName and the version keys that are set, in the order of the
// template's keys, kustomize's order for the others.
func orderKeys(e *entry, template []string) []string {
	var keys []string
	for _, k := range entryKeys {
		if e.fields[k].set() && (k == keyName || k == keyNewName || containsKey(versionKeys, k)) {
			keys = append(keys, k)
		}
	}
	pos := func(k string) int {
		best := -1
		for i, t := range template {
			if t == k {
				return 2 * i
			}
			if rank(t) < rank(k) && (best < 0 || rank(t) > rank(template[best])) {
				best = i
			}
		}
		return 2*best + 1
	}
	sort.SliceStable(keys, func(i, j int) bool { return pos(keys[i]) < pos(keys[j]) })
	return keys
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// emptyImages removes the text of an empty images value (null or []) and
// returns the offset its line ends at.
func (p *planner) emptyImages() (*edit, int, error) {
	k, t := p.dst, p.dst.t
	n := k.images
	if n.Kind == yaml.ScalarNode {
		sp, why := t.textSpan(n, false)
		if why != "" {
			return nil, 0, &diag.Error{File: k.file, Line: n.Line, Msg: "cannot rewrite images: " + why, Err: ErrCannotRewrite}
		}
		if sp.start == sp.end {
			return nil, t.nodeOffset(k.imagesKey), nil
		}
		return p.cut(sp.start, sp.end), sp.end, nil
	}
	if len(n.Content) > 0 || n.Style&yaml.FlowStyle == 0 {
		return nil, 0, &diag.Error{File: k.file, Line: n.Line, Msg: "cannot rewrite images", Err: ErrCannotRewrite}
	}
	start := t.valueStart(n)
	end, why := t.closing(start, false)
	if why != "" || start < 0 {
		return nil, 0, &diag.Error{File: k.file, Line: n.Line, Msg: "cannot rewrite images: " + why, Err: ErrCannotRewrite}
	}
	if t.lineNo(end) != t.lineNo(start) {
		return nil, 0, diag.Errorf(k.file, n.Line, "images: [] spans several lines: write it on one line, or as a block list")
	}
	return p.cut(start, end), end, nil
}

// cut removes [start, end) and the blanks before it.
func (p *planner) cut(start, end int) *edit {
	d := p.dst.t.data
	for start > 0 && (d[start-1] == ' ' || d[start-1] == '\t') {
		start--
	}
	return &edit{start: start, end: end}
}

// documentEnd returns where a field added at the end of the
// kustomization's document goes: before the marker of the next document,
// or at the end of the file.
func (p *planner) documentEnd() (int, error) {
	k, t := p.dst, p.dst.t
	if k.root != nil && k.root.Style&yaml.FlowStyle != 0 {
		return 0, diag.Errorf(k.file, k.root.Line,
			"the kustomization is written in flow style ({...}): write it in block style so that promote can add images")
	}
	from := 0
	if k.root != nil {
		from = t.lineNext(t.nodeOffset(k.root))
	}
	for i := t.lineIndex(from); i >= 0 && i < len(t.lines); i++ {
		ls := t.lines[i]
		if ls < from {
			continue
		}
		if isDocMarker(t.data[ls:t.lineEnd(ls)]) {
			if k.root == nil {
				return 0, diag.Errorf(k.file, i+1,
					"cannot add images: the kustomization's first document is empty and another follows")
			}
			return ls, nil
		}
	}
	return len(t.data), nil
}

// isDocMarker tells whether a line starts or ends a YAML document.
func isDocMarker(line []byte) bool {
	s := string(line)
	if !strings.HasPrefix(s, "---") && !strings.HasPrefix(s, "...") {
		return false
	}
	return len(s) == 3 || s[3] == ' ' || s[3] == '\t'
}

// listStyle returns how the kustomization indents its block lists: the
// dash's column past its key's, and the entries' keys past the dash; 0 and
// 2, kustomize's own style, when it has none.
func (k *kustomization) listStyle() (dashOff, keyOff int) {
	dashOff, keyOff = 0, 2
	found := false
	for i := 0; k.root != nil && i+1 < len(k.root.Content); i += 2 {
		key, v := k.root.Content[i], k.root.Content[i+1]
		if v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 || v.Column < key.Column || v.Line == key.Line {
			continue
		}
		d := v.Column - key.Column
		if item := v.Content[0]; item.Kind == yaml.MappingNode && item.Style&yaml.FlowStyle == 0 && item.Column > v.Column {
			return d, item.Column - v.Column
		}
		if !found {
			dashOff, found = d, true
		}
	}
	return dashOff, keyOff
}

package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

// TestReadKubernetesAsJSON holds readKubernetes, which cuts the
// definitions out of the embedded text, to decoding each version's data
// whole with encoding/json.
func TestReadKubernetesAsJSON(t *testing.T) {
	for _, version := range embeddedVersions() {
		got, err := readKubernetes(version)
		if err != nil {
			t.Fatal(err)
		}
		var want kubernetesFile
		if err := readGzipJSON("data/"+kubernetesPrefix+version+dataSuffix, &want); err != nil {
			t.Fatal(err)
		}
		if got.KubernetesVersion != want.KubernetesVersion || len(got.Kinds) != len(want.Kinds) || got.Kinds[0] != want.Kinds[0] {
			t.Errorf("%s: version %q and %d kinds, encoding/json: %q and %d", version, got.KubernetesVersion, len(got.Kinds), want.KubernetesVersion, len(want.Kinds))
		}
		if !maps.EqualFunc(got.Definitions, want.Definitions, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Errorf("%s: %d definitions differ from encoding/json's %d", version, len(got.Definitions), len(want.Definitions))
		}
	}
}

// FuzzSplitObject holds splitObject to json.Unmarshal into a map of
// json.RawMessage on the objects encoding/json reads, in UTF-8, whose
// keys have no escapes (the embedded data's).
func FuzzSplitObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, ` { "a" : [1, {"b": "c\"}"}] , "d":null,"e":true, "f": -1.5e3 } `,
		`{"a":{"b":{}},"a":"again"}`, `{"a":"\\"}`, `{"a":}`, `{"a":1,}`, `[1]`, `{"a"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := splitObject(data)
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil || want == nil || !utf8.Valid(data) {
			return
		}
		if err != nil {
			t.Fatalf("%q: %v; encoding/json reads %d members", data, err, len(want))
		}
		if bytes.IndexByte(data, '\\') >= 0 && !maps.EqualFunc(got, want, func(json.RawMessage, json.RawMessage) bool { return true }) {
			return // a key written with an escape, which splitObject keeps
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Errorf("%q: %q, encoding/json: %q", data, got, want)
		}
	})
}

package validate

import (
	"slices"
	"testing"
)

// TestSOPSFile holds sopsFile to the metadata SOPS writes in each format
// it encrypts a file to, and to files that only mention it.
func TestSOPSFile(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     bool
	}{
		{"yaml", "password: ENC[AES256_GCM,data:abc=,type:str]\nsops:\n  age:\n    - recipient: age1xyz\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n\n        YWdl\n        -----END AGE ENCRYPTED FILE-----\n  lastmodified: \"2025-12-22T01:21:04Z\"\n  mac: ENC[AES256_GCM,data:zfF=,type:str]\n  version: 3.11.0\n", true},
		{"yaml with CRLF", "a: ENC[AES256_GCM,data:abc=,type:str]\r\nsops:\r\n  mac: ENC[AES256_GCM,data:zfF=,type:str]\r\n", true},
		{"json", `{"password": "ENC[AES256_GCM,data:abc=,type:str]", "sops": {"lastmodified": "2025-01-01T00:00:00Z", "mac": "ENC[AES256_GCM,data:m=,type:str]", "version": "3.9.0"}}`, true},
		{"binary, wrapped in json", "{\n\t\"data\": \"ENC[AES256_GCM,data:abc=,type:str]\",\n\t\"sops\": {\n\t\t\"mac\": \"ENC[AES256_GCM,data:m=,type:str]\"\n\t}\n}", true},
		{"ini", "[db]\npassword = ENC[AES256_GCM,data:abc=,type:str]\n\n[sops]\nversion = 3.9.0\nmac = ENC[AES256_GCM,data:m=,type:str]\n", true},
		{"plain yaml", "providers:\n  openAI:\n    apiKey: hunter2\n", false},
		{"yaml naming sops without its metadata", "tool: sops\nsops:\n  note: encrypt me later\n", false},
		{"a sops key below the top", "config:\n  sops:\n    mac: x\n", false},
		{"json naming sops", `{"sops": "later", "mac": "aa:bb"}`, false},
	} {
		if got := sopsFile(tt.in); got != tt.want {
			t.Errorf("%s: sopsFile = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDedupe: a finding repeated, at the same or another severity, is
// kept once, at the higher.
func TestDedupe(t *testing.T) {
	f := Finding{Rule: "schema", File: "base/cm.yaml", Line: 6, Object: "v1/ConfigMap/a/web", Message: "data.replicas"}
	warn, err := f, f
	warn.Severity, err.Severity = Warning, Error
	other := err
	other.Line = 7
	for _, tt := range []struct {
		name string
		in   []Finding
		want []Finding
	}{
		{"repeated", []Finding{err, err}, []Finding{err}},
		{"a warning, then the error", []Finding{warn, err}, []Finding{err}},
		{"the error, then a warning", []Finding{err, warn}, []Finding{err}},
		{"warnings", []Finding{warn, warn}, []Finding{warn}},
		{"another line", []Finding{warn, other}, []Finding{warn, other}},
	} {
		if got := dedupe(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%s: dedupe = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

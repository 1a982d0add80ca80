package validate

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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
		{"json with its recipients", "{\n \"data\": \"ENC[AES256_GCM,data:abc=,type:str]\",\n \"sops\": {\n  \"kms\": null,\n  \"age\": [\n   {\"recipient\": \"age1xyz\", \"enc\": \"-----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n-----END AGE ENCRYPTED FILE-----\\n\"}\n  ],\n  \"mac\": \"ENC[AES256_GCM,data:m=,type:str]\"\n }\n}", true},
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

// TestPlainSecretField: which Secret holds a secret value in the clear,
// and the key it is reported by.
func TestPlainSecretField(t *testing.T) {
	for _, tt := range []struct {
		name, secret string
		want         string // the key reported; "" for none
	}{
		{"a password", "stringData:\n  password: hunter2\n", "password"},
		{"base64 data", "data:\n  token: aHVudGVyMg==\n", "token"},
		{"a Flux variable", "stringData:\n  password: ${DB_PASSWORD}\n", ""},
		{"a Flux variable with a default", "stringData:\n  password: ${DB_PASSWORD:=changeme}\n", ""},
		{"a Flux variable inside a value", "stringData:\n  DSN: postgres://app:${DB_PASSWORD}@db:5432/app\n", ""},
		{"a Flux variable in base64 data", "data:\n  token: JHtUT0tFTn0=\n", ""},
		{"a 1Password reference", "stringData:\n  token: op://vault/item/token\n", ""},
		{"settings beside references", "stringData:\n  RESTIC_REPOSITORY: s3:http://minio:9000/restic/app\n  RESTIC_PASSWORD: ${RESTIC_PASSWORD}\n", ""},
		{"settings alone", "stringData:\n  host: db.example.com\n  port: \"5432\"\n  database: app\n  dbUser: app\n  ca.crt: cert\n", ""},
		{"a credential beside settings", "stringData:\n  DB_HOST: db\n  DB_PASS: hunter2\n", "DB_PASS"},
		{"an access key id", "stringData:\n  AWS_ACCESS_KEY_ID: AKIAEXAMPLE\n", "AWS_ACCESS_KEY_ID"},
		{"a private key", "stringData:\n  tls.key: key\n", "tls.key"},
		{"a file of settings with a password", "stringData:\n  config.yaml: |\n    user: app\n    password: hunter2\n", "config.yaml"},
		{"a file of settings with a nested token", "stringData:\n  values.yaml: |\n    github:\n      apiToken: abc123\n", "values.yaml"},
		{"a file of settings with a referenced password", "stringData:\n  config.yaml: |\n    user: app\n    password: ${DB_PASSWORD}\n", ""},
		{"a chart's values without credentials", "stringData:\n  values.yaml: |\n    persistence:\n      main:\n        enabled: true\n        subPath: docs\n", ""},
		{"an env file", "stringData:\n  app.env: |\n    USER=app\n    PASSWORD=hunter2\n", "app.env"},
		{"an INI file of settings", "stringData:\n  grafana.ini: |\n    [date_formats]\n    default_timezone = UTC\n", ""},
		{"an INI file with a password", "stringData:\n  grafana.ini: |\n    [security]\n    admin_password = hunter2\n", "grafana.ini"},
		// swibrow/home-ops: an Argo CD cluster of its own, no credential.
		{"names and addresses", "stringData:\n  name: pitower\n  server: https://kubernetes.default.svc\n  config: |\n    {\n      \"tlsClientConfig\": {\"insecure\": false}\n    }\n  ADMIN_EMAIL: admin@example.com\n", ""},
		{"an Argo CD cluster's bearer token", "stringData:\n  name: pitower\n  config: |\n    {\n      \"bearerToken\": \"abc\"\n    }\n", "config"},
		// sholdee/home-ops: Argo CD's repositories, declared as Secrets.
		{"an Argo CD repository", "metadata:\n  labels:\n    argocd.argoproj.io/secret-type: repository\nstringData:\n  name: charts\n  project: k3s\n  type: helm\n  url: ghcr.io/grafana/helm-charts\n  enableOCI: \"true\"\n", ""},
		{"an Argo CD repository's password", "metadata:\n  labels:\n    argocd.argoproj.io/secret-type: repository\nstringData:\n  project: k3s\n  url: https://git.example.com/a.git\n  username: bot\n  password: hunter2\n", "password"},
		{"Argo CD repository credentials' SSH key", "metadata:\n  labels:\n    argocd.argoproj.io/secret-type: repo-creds\nstringData:\n  url: git@github.com:org\n  sshPrivateKey: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    b3Blbn\n    -----END OPENSSH PRIVATE KEY-----\n", "sshPrivateKey"},
		{"Argo CD repository credentials of a GitHub App", "metadata:\n  labels:\n    argocd.argoproj.io/secret-type: repo-creds\nstringData:\n  url: https://github.com/org\n  githubAppID: \"1\"\n  githubAppInstallationID: \"2\"\n  githubAppPrivateKey: key\n", "githubAppPrivateKey"},
		{"a project without the Argo CD label", "stringData:\n  project: k3s\n", "project"},
		// shelken/home-ops, GizmoTickler/home-ops: bootstrap Secrets whose
		// values a script resolves from a secret store.
		{"paths in a secret store", "stringData:\n  ClientSecret: azure://homelab/azure-creds/ClientSecret\n  token: secret://op_connect_token\n", ""},
		{"a webhook's URL", "stringData:\n  url: https://hooks.slack.com/services/T0/B0/XXXX\n  webhook: https://hooks.slack.com/services/T0/B0/XXXX\n", "webhook"},
		{"a connection string with a password", "stringData:\n  DSN: postgres://app:hunter2@db:5432/app\n", "DSN"},
		{"a connection string with a password in its query", "stringData:\n  DSN: postgres://db/app?password=hunter2\n", "DSN"},
		// sob/home-ops: Alertmanager reads its Pushover credentials from
		// files mounted from elsewhere.
		{"credentials read from files", "stringData:\n  alertmanager.yaml: |\n    receivers:\n    - name: pager\n      pushover_configs:\n      - user_key_file: /etc/alertmanager/secrets/pushover/user-key\n        token_file: /etc/alertmanager/secrets/pushover/token\n", ""},
		{"a token under a file key", "stringData:\n  config.yaml: |\n    token_file: abc123\n", "config.yaml"},
		{"a user name then a password", "stringData:\n  PGADMIN_DEFAULT_EMAIL: admin@example.com\n  PGADMIN_DEFAULT_PASSWORD: hunter2\n", "PGADMIN_DEFAULT_PASSWORD"},
		// allenporter/k8s-gitops mounts authorized_keys from a Secret.
		{"SSH public keys", "stringData:\n  authorized_keys: |\n    ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMg me@laptop\n    # backup\n    from=\"10.0.0.0/8\" ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB ci\n", ""},
		{"known hosts", "stringData:\n  known_hosts: |\n    github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq\n", ""},
		{"a private key beside public keys", "stringData:\n  authorized_keys: |\n    ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMg me\n  id_ed25519: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    b3Blbn\n    -----END OPENSSH PRIVATE KEY-----\n", "id_ed25519"},
		{"a password that names a key type", "stringData:\n  note: |\n    ssh-rsa is old\n    password = hunter2\n", "note"},
		{"a PEM key", "stringData:\n  tls.pem: |\n    -----BEGIN PRIVATE KEY-----\n    MIIE\n    -----END PRIVATE KEY-----\n", "tls.pem"},
		{"a base64 PEM key whose lines end in =", "data:\n  tls.key: " + base64.StdEncoding.EncodeToString([]byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7=\nqOq9==\n-----END RSA PRIVATE KEY-----\n")) + "\n", "tls.key"},
		{"a base64 blob", "stringData:\n  keystore: |\n    MIIKXgIBAzCCChgGCSqGSIb3DQEHAaCCCgkEggoFMIIKATCCBW0GCSqGSIb3DQEHAaCCBV4=\n    BIIFWjCCBVYwggVSBgsqhkiG9w0BDAoBAqCCBPswggT3MBkGCiqGSIb3DQEMAQMwCwQG==\n", "keystore"},
		{"a certificate", "stringData:\n  ca.pem: |\n    -----BEGIN CERTIFICATE-----\n    MIIE\n    -----END CERTIFICATE-----\n", ""},
		{"empty", "stringData:\n  password: \"\"\n", ""},
		{"a setting beside variables", "stringData:\n  NUXT_STORAGE_DRIVER: cloudflare\n  NUXT_CLOUDFLARE_API_TOKEN: ${SECRET_CF_TOKEN}\n", ""},
		{"a public JSON list beside variables", "stringData:\n  userPassword: ${SECRET_PASSWORD}\n  ice: |-\n    [{\"urls\": [\"stun:stun.l.google.com:19302\"]}]\n", ""},
		{"a setting beside a 1Password reference", "stringData:\n  mode: s3\n  token: op://vault/item/token\n", ""},
		{"a credential beside variables", "stringData:\n  API_TOKEN: abc123\n  DB_PASSWORD: ${DB_PASSWORD}\n", "API_TOKEN"},
		{"a file of settings with a password beside variables", "stringData:\n  token: ${TOKEN}\n  config.yaml: |\n    user: app\n    password: hunter2\n", "config.yaml"},
		{"a setting alone", "stringData:\n  NUXT_STORAGE_DRIVER: cloudflare\n", "NUXT_STORAGE_DRIVER"},
		{"dollar text that is no variable", "stringData:\n  password: ${not a variable}\n", "password"},
	} {
		head := "apiVersion: v1\nkind: Secret\n"
		if !strings.HasPrefix(tt.secret, "metadata:") {
			head += "metadata:\n  name: s\n"
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(head+tt.secret), &doc); err != nil {
			t.Fatal(err)
		}
		_, key := plainSecretField(doc.Content[0], nil)
		if key != tt.want {
			t.Errorf("%s: plainSecretField reports %q, want %q", tt.name, key, tt.want)
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

func TestKustomizationsNamed(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{[]string{"a/x"}, "Kustomization a/x"},
		{[]string{"a/x", "a/y"}, "Kustomizations a/x and a/y"},
		{[]string{"a/1", "a/2", "a/3", "a/4", "a/5", "a/6"}, "Kustomizations a/1, a/2, a/3, a/4, a/5 and a/6"},
		{[]string{"a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7"}, "Kustomizations a/1, a/2, a/3, a/4, a/5 and 2 more"},
	} {
		if got := kustomizations(tc.ids); got != tc.want {
			t.Errorf("kustomizations(%q) = %q, want %q", tc.ids, got, tc.want)
		}
	}
}

// TestMergeAtLine: findings of one rule at one line that differ in one
// word become one naming each, and merging the merged (the parts of a
// split check) gives the same.
func TestMergeAtLine(t *testing.T) {
	at := func(line int, sev Severity, msg string) Finding {
		return Finding{Rule: "build", File: "components/db/ks.yaml", Line: line, Severity: sev, Message: msg}
	}
	unset := func(ks string) Finding {
		return at(28, Warning, "Kustomization "+ks+": variable EXT is not set and has no default: Flux v2.7 substitutes an empty string")
	}
	for _, tt := range []struct {
		name string
		in   []Finding
		want []string
	}{{
		name: "three Kustomizations sharing a component",
		in:   []Finding{unset("default/firefly"), unset("default/home"), unset("security/authelia")},
		want: []string{"Kustomization default/firefly: variable EXT is not set and has no default: Flux v2.7 substitutes an empty string (likewise for default/home and security/authelia)"},
	}, {
		name: "three variables of one Kustomization",
		in: []Finding{
			at(8, Warning, "Kustomization flux-system/istio: variable INSTANCE_IP is not set"),
			at(8, Warning, "Kustomization flux-system/istio: variable POD_NAME is not set"),
			at(8, Warning, "Kustomization flux-system/istio: variable POD_NAMESPACE is not set"),
		},
		want: []string{"Kustomization flux-system/istio: variable INSTANCE_IP is not set (likewise for POD_NAME and POD_NAMESPACE)"},
	}, {
		name: "found in the working tree and at a tag",
		in:   []Finding{at(3, Warning, "in refs/tags/production: no schema is known for x/v1 Store"), at(3, Warning, "no schema is known for x/v1 Store")},
		want: []string{"no schema is known for x/v1 Store (in refs/tags/production too)"},
	}, {
		name: "a word in brackets",
		in:   []Finding{at(1, Warning, "artifact backend (latest): cannot reach ghcr.io"), at(1, Warning, "artifact backend (latest-stable): cannot reach ghcr.io")},
		want: []string{"artifact backend (latest): cannot reach ghcr.io (likewise for latest-stable)"},
	}, {
		name: "two words apart",
		in:   []Finding{at(8, Warning, "HelmRelease a/x: chart one fails"), at(8, Warning, "HelmRelease a/y: chart two fails")},
		want: []string{"HelmRelease a/x: chart one fails", "HelmRelease a/y: chart two fails"},
	}, {
		name: "another severity, another line",
		in:   []Finding{unset("default/firefly"), at(28, Error, "Kustomization default/home: variable EXT is not set and has no default: Flux v2.7 substitutes an empty string"), at(29, Warning, "Kustomization default/x: variable EXT is not set and has no default: Flux v2.7 substitutes an empty string")},
		want: []string{unset("default/firefly").Message, "Kustomization default/home: variable EXT is not set and has no default: Flux v2.7 substitutes an empty string", "Kustomization default/x: variable EXT is not set and has no default: Flux v2.7 substitutes an empty string"},
	}} {
		got := mergeAtLine(tt.in)
		var msgs []string
		for _, f := range got {
			msgs = append(msgs, f.Message)
		}
		if !slices.Equal(msgs, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, msgs, tt.want)
		}
		// The parts of a split check, each merged, then merged again.
		if len(tt.in) > 2 {
			parts := append(mergeAtLine(tt.in[:1]), mergeAtLine(tt.in[1:])...)
			if again := mergeAtLine(parts); !slices.Equal(again, got) {
				t.Errorf("%s: merged in two parts: %+v, want %+v", tt.name, again, got)
			}
		}
	}
}

// FuzzMergeAtLine: however the findings of one line that differ in one
// name are split into parts and merged, every name is kept once, and
// merging the parts' merges gives what merging the whole gives.
func FuzzMergeAtLine(f *testing.F) {
	f.Add("default/firefly default/home security/authelia", "Kustomization %s: variable EXT is not set", uint8(1))
	f.Add("(latest) (latest-stable) (v1)", "artifact backend %s: cannot reach ghcr.io", uint8(2))
	f.Add("a, b and", "x %s y", uint8(0))
	f.Fuzz(func(t *testing.T, names, format string, cut uint8) {
		if strings.Count(format, "%s") != 1 || strings.Contains(format, "\n") {
			return
		}
		var fs []Finding
		seen := map[string]bool{}
		for _, name := range strings.Fields(names) {
			msg := strings.Replace(format, "%s", name, 1)
			if seen[msg] {
				continue
			}
			seen[msg] = true
			fs = append(fs, Finding{Rule: "build", File: "a.yaml", Line: 3, Message: msg})
		}
		if len(fs) < 2 {
			return
		}
		slices.SortFunc(fs, func(a, b Finding) int { return strings.Compare(a.Message, b.Message) })
		whole := mergeAtLine(fs)
		i := 1 + int(cut)%(len(fs)-1)
		parts := append(mergeAtLine(fs[:i]), mergeAtLine(fs[i:])...)
		if again := mergeAtLine(parts); !slices.Equal(again, whole) {
			t.Fatalf("merged whole: %+v\nmerged in parts %d+%d: %+v", whole, i, len(fs)-i, again)
		}
		var out strings.Builder
		for _, f := range whole {
			out.WriteString(f.Message + "\n")
		}
		for _, name := range strings.Fields(names) {
			if !strings.Contains(out.String(), strings.Trim(name, "([{'\")]}:,;.")) {
				t.Fatalf("%q lost: %q", name, out.String())
			}
		}
	})
}

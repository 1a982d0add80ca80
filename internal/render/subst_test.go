package render

import (
	"strings"
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// TestMadeSecrets: the Secrets operators write in the cluster, with what
// their manifests tell of the keys and values, and a post-build
// substitution from each.
func TestMadeSecrets(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Produced
		// in is substituted with the Secret as the only substituteFrom,
		// strictly; out is the result, or the error wanted.
		in, out, err string
	}{
		{
			name: "ExternalSecret with a template, which replaces what dataFrom reads",
			doc: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: vars, namespace: apps}
spec:
  target:
    name: cluster-vars
    template:
      data: {DOMAIN: "{{ .domain }}", IP: 192.168.1.10}
  dataFrom: [{extract: {key: vars}}]
`,
			want: Produced{Kind: "Secret", Namespace: "apps", Name: "cluster-vars", Made: "ExternalSecret apps/vars",
				Data: map[string]string{"DOMAIN": "${DOMAIN}", "IP": "192.168.1.10"}},
			in: "host: app.${DOMAIN}\nip: ${IP}\nzone: ${ZONE:=lan}\n", out: "host: app.${DOMAIN}\nip: 192.168.1.10\nzone: lan\n",
		},
		{
			name: "ExternalSecret whose template merges what it reads",
			doc: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: vars}
spec:
  target:
    template: {mergePolicy: Merge, data: {IP: 192.168.1.10}}
  data: [{secretKey: TOKEN, remoteRef: {key: token}}]
  dataFrom: [{extract: {key: vars}}]
`,
			want: Produced{Kind: "Secret", Namespace: "default", Name: "vars", Made: "ExternalSecret default/vars", Open: true,
				Data: map[string]string{"IP": "192.168.1.10", "TOKEN": "${TOKEN}"}},
			in: "zone: ${ZONE:=lan}\nother: ${OTHER}\n", out: "zone: ${ZONE}\nother: ${OTHER}\n",
		},
		{
			name: "ExternalSecret of data only",
			doc: `apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db, namespace: apps}
spec:
  data: [{secretKey: PASSWORD, remoteRef: {key: db}}]
`,
			want: Produced{Kind: "Secret", Namespace: "apps", Name: "db", Made: "ExternalSecret apps/db",
				Data: map[string]string{"PASSWORD": "${PASSWORD}"}},
			in: "user: ${USER}\n", err: `variable not set (strict mode): "USER"`,
		},
		{
			name: "SealedSecret",
			doc: `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db, namespace: apps}
spec:
  encryptedData: {PASSWORD: AgBy3i4OJSWK}
`,
			want: Produced{Kind: "Secret", Namespace: "apps", Name: "db", Made: "SealedSecret apps/db",
				Data: map[string]string{"PASSWORD": "${PASSWORD}"}},
			in: "password: ${PASSWORD}\n", out: "password: ${PASSWORD}\n",
		},
		{
			name: "OnePasswordItem",
			doc: `apiVersion: onepassword.com/v1
kind: OnePasswordItem
metadata: {name: db, namespace: apps}
spec: {itemPath: vaults/home/items/db}
`,
			want: Produced{Kind: "Secret", Namespace: "apps", Name: "db", Made: "OnePasswordItem apps/db", Open: true, Data: map[string]string{}},
			in:   "password: ${PASSWORD}\n", out: "password: ${PASSWORD}\n",
		},
		{
			name: "SopsSecret",
			doc: `apiVersion: isindir.github.com/v1alpha3
kind: SopsSecret
metadata: {name: vars, namespace: apps}
spec:
  secretTemplates:
    - name: cluster-secrets
      stringData:
        DOMAIN: ENC[AES256_GCM,data:aGVsbG8=,type:str]
      data:
        TOKEN: ENC[AES256_GCM,data:d29ybGQ=,type:str]
sops:
  version: 3.9.0
`,
			want: Produced{Kind: "Secret", Namespace: "apps", Name: "cluster-secrets", Made: "SopsSecret apps/vars",
				Data: map[string]string{"DOMAIN": "${DOMAIN}", "TOKEN": "${TOKEN}"}},
			in: "host: app.${DOMAIN}\nzone: ${ZONE:=lan}\n", out: "host: app.${DOMAIN}\nzone: lan\n",
		},
	}
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := resmap.NewFactory(factory).NewResMapFromBytes([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := produced(m)
			if len(got) != 1 {
				t.Fatalf("produced %d objects, want 1", len(got))
			}
			if diff := cmp.Diff(tt.want, got[0]); diff != "" {
				t.Errorf("produced (-want +got):\n%s", diff)
			}

			k := &Kustomization{Object: &manifest.Object{File: "ks.yaml", Line: 1, Namespace: tt.want.Namespace, Name: "app"}}
			k.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "Secret", Name: tt.want.Name}}}
			vars, _, err := resolveVars(k, func(id string) (Produced, bool) {
				return got[0], id == "Secret/"+tt.want.Namespace+"/"+tt.want.Name
			})
			if err != nil {
				t.Fatal(err)
			}
			cm, err := resmap.NewFactory(factory).NewResMapFromBytes([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n" + indent(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = substitute(cm, k, vars, true)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("substitute: %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := cm.Resources()[0].GetFieldValue("data")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			if err := kyaml.Unmarshal([]byte(tt.out), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, data); diff != "" {
				t.Errorf("substituted (-want +got):\n%s", diff)
			}
		})
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// TestLenientSubstitution: a lenient substitution (Flux before v2.9) makes
// a variable nothing sets empty and names it, but not one with a default;
// a strict one fails on it.
func TestLenientSubstitution(t *testing.T) {
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: x${A}y\n  b: ${B:=dflt}\n  c: z${C:-}\n  d: ${D}\n  e: ${A}\n"
	k := &Kustomization{Object: &manifest.Object{File: "ks.yaml", Line: 1, Namespace: "apps", Name: "app"}}
	k.Spec.PostBuild = &kustomizev1.PostBuild{Substitute: map[string]string{"D": "set"}}
	for _, strict := range []bool{false, true} {
		m, err := resmap.NewFactory(factory).NewResMapFromBytes([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		unset, err := substitute(m, k, k.Spec.PostBuild.Substitute, strict)
		if strict {
			if err == nil || !strings.Contains(err.Error(), `variable not set (strict mode): "A"`) {
				t.Errorf("strict: %v, want A not set", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"A"}, unset); diff != "" {
			t.Errorf("unset (-want +got):\n%s", diff)
		}
		data, _ := m.Resources()[0].GetFieldValue("data")
		if diff := cmp.Diff(map[string]any{"a": "xy", "b": "dflt", "c": "z", "d": "set", "e": nil}, data); diff != "" {
			t.Errorf("substituted (-want +got):\n%s", diff)
		}
	}
}

// TestClusterExternalSecrets: a ClusterExternalSecret makes its
// ExternalSecret's Secret in each namespace it selects by name, and in any
// namespace when it selects them by labels only the cluster knows.
func TestClusterExternalSecrets(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string // namespace/name
	}{
		{"namespaces listed", "namespaces: [a, b]", []string{"a/cluster-id", "b/cluster-id"}},
		{"selected by name", "namespaceSelectors:\n  - matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [tools, media]}]\n  - matchLabels: {kubernetes.io/metadata.name: security}",
			[]string{"tools/cluster-id", "media/cluster-id", "security/cluster-id"}},
		{"the older single selector", "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: tools}}", []string{"tools/cluster-id"}},
		{"selected by another label", "namespaceSelectors: [{matchLabels: {team: a}}]", []string{"*/cluster-id"}},
		{"a name excluded", "namespaceSelectors: [{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}]", []string{"*/cluster-id"}},
		{"every namespace", "namespaceSelectors: [{}]", []string{"*/cluster-id"}},
		{"named by externalSecretName and target", "externalSecretName: es\nnamespaces: [a]\nexternalSecretSpec: {target: {name: creds}}", []string{"a/creds"}},
		{"named by externalSecretName", "externalSecretName: es\nnamespaces: [a]", []string{"a/es"}},
	}
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {name: cluster-id}\nspec:\n  " + strings.ReplaceAll(tt.spec, "\n", "\n  ") + "\n"
			m, err := resmap.NewFactory(factory).NewResMapFromBytes([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range produced(m) {
				if p.Kind != "Secret" || p.Made != "ClusterExternalSecret cluster-id" {
					t.Errorf("produced %+v", p)
				}
				got = append(got, p.Namespace+"/"+p.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Secrets (-want +got):\n%s", diff)
			}
		})
	}
}

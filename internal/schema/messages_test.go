package schema

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestMessages pins the wording, reasons and paths of violations against
// testdata/messages.golden; `go test ./internal/schema -update` rewrites
// it.
func TestMessages(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{name: "deployment", doc: `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cart
  labels: {app.kubernetes.io/name: 3}
  annotations: null
  creationTimestamp: null
spec:
  replicas: "2"
  replica: 2
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers:
      - name: cart
        image: cart:1.0
        imagePullPolicy: Sometimes
        ports: [{containerPort: 8080, protocol: tcp}, {name: metrics}]
        resources: {limits: {cpu: 500mm, memory: 1Gi}}
        env: [{name: A, value: 1}]
      - image: sidecar:1.0
      restartPolicy: Always
      terminationGracePeriodSeconds: 1.5
      nodeSelector: {disk: ssd, gpu: true}
`},
		{name: "list", doc: `
apiVersion: v1
kind: List
items: []
`},
		{name: "secret", doc: `
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {password: "not base64!"}
type: Opaque
`},
		{name: "service", doc: `
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  type: Balancer
  ports: [{port: 3000000000, targetPort: 8080.5}]
`},
		{name: "flux kustomization", doc: `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system, lables: {a: b}}
spec:
  interval: 5 minutes
  path: ./apps
  sourceRef: {kind: Bucketz, name: repo}
  force: "yes"
  decryption: {provider: vault}
`},
		{name: "flux image policy rule", doc: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: p, namespace: flux-system}
spec:
  imageRepositoryRef: {name: r}
  policy: {semver: {range: 1.x}}
  digestReflectionPolicy: Always
`},
		{name: "crd", doc: `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Widget, plural: widgets}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string, maxLenght: 3}
              count: {type: integer, minimum: "0"}
`},
		{name: "custom resource: anyOf", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, port: true}
`},
		{name: "custom resource: a number out of range is placed where it is", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, ports: [{name: a, number: 1e20}]}
`},
		{name: "custom resource: two numbers out of range stay at the root, as the server reports them", doc: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: small, ports: [{name: a, number: 1e20}, {name: b, number: -1e20}]}
`},
		{name: "no kind", doc: `
apiVersion: v1
metadata: {name: x}
`},
	}
	v := newValidator(t, Default())
	if err := v.AddCRD(mustDecode(t, widgetCRD)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tc := range tests {
		vs, status := v.Validate(mustDecode(t, tc.doc))
		b.WriteString("== " + tc.name + " (" + status.String() + ")\n")
		for _, x := range vs {
			b.WriteString(x.Path.String() + " | " + string(x.Reason) + " | " + x.Message + "\n")
		}
	}
	golden := filepath.Join("testdata", "messages.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/schema -run TestMessages -update)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("messages differ from %s (-want +got):\n%s", golden, diff)
	}
}

// Package helmtest packages charts with the Helm SDK and serves them as
// real chart sources do, for the tests and benchmarks: an HTTP chart
// repository whose index.yaml Helm's repo package writes, and charts pushed
// to an OCI registry with Helm's registry client.
package helmtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/registry"
	repov1 "helm.sh/helm/v4/pkg/repo/v1"
)

// Package writes a chart's files (path in the chart: content) to a
// directory, packages it as `helm package` does, and returns the archive.
func Package(t testing.TB, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, "chart", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := loader.LoadDir(filepath.Join(dir, "chart"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Chart returns the files of a small chart: a Deployment and a Service
// whose replicas, image and port come from values, a ConfigMap with every
// value, a CRD in crds/, a hook Job and a test hook.
func Chart(name, version string) map[string]string {
	return map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: " + name + "\nversion: " + version + "\nappVersion: \"" + version + "\"\n",
		"values.yaml": `replicaCount: 1
image:
  repository: ghcr.io/example/app
  tag: "1.0.0"
service:
  port: 80
serviceMonitor: false
`,
		"values.schema.json": `{"type":"object","properties":{"replicaCount":{"type":"integer","minimum":0}}}`,
		"templates/_helpers.tpl": `{{- define "app.labels" -}}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ .Values.service.port }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  ports:
    - port: {{ .Values.service.port }}
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
`,
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-values
data:
  values.yaml: |
    {{- toYaml .Values | nindent 4 }}
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
`,
		"templates/servicemonitor.yaml": `{{- if and .Values.serviceMonitor (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  endpoints:
    - port: http
{{- end }}
`,
		"templates/hook.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`,
		"templates/tests/test.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: wget
      image: busybox
`,
		"crds/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`,
	}
}

// Repo is an HTTP chart repository on loopback.
type Repo struct {
	URL string
	// Requests counts the requests served, by path.
	requests map[string]*atomic.Int64
	srv      *httptest.Server
	// Fail, when set, answers every request with its status.
	Fail atomic.Int32
}

// NewRepo serves archives as a chart repository, with the index.yaml
// Helm's repo package writes for them (`helm repo index`).
func NewRepo(t testing.TB, archives ...[]byte) *Repo {
	t.Helper()
	dir := t.TempDir()
	for _, a := range archives {
		ch, err := loader.LoadArchive(bytes.NewReader(a))
		if err != nil {
			t.Fatal(err)
		}
		name := ch.Metadata.Name + "-" + ch.Metadata.Version + ".tgz"
		if err := os.WriteFile(filepath.Join(dir, name), a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &Repo{requests: map[string]*atomic.Int64{}}
	files := http.FileServer(http.Dir(dir))
	counted := map[string]bool{"/index.yaml": true}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		counted["/"+e.Name()] = true
	}
	for p := range counted {
		r.requests[p] = &atomic.Int64{}
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if n, ok := r.requests[req.URL.Path]; ok {
			n.Add(1)
		}
		if s := r.Fail.Load(); s != 0 {
			http.Error(w, http.StatusText(int(s)), int(s))
			return
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL
	index, err := repov1.IndexDirectory(dir, r.URL)
	if err != nil {
		t.Fatal(err)
	}
	index.SortEntries()
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// Requests is how many requests path was served.
func (r *Repo) Requests(path string) int64 {
	if n, ok := r.requests[path]; ok {
		return n.Load()
	}
	return 0
}

// PushOCI pushes a chart archive to host (an OCI registry over plain HTTP)
// under path, as `helm push` does: the repository is path/<chart name>,
// the tag the chart's version (Helm's client writes "+" as "_").
func PushOCI(t testing.TB, host, path string, archive []byte) string {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.NewClient(registry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/" + path + "/" + ch.Metadata.Name + ":" + ch.Metadata.Version
	if _, err := c.Push(archive, ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

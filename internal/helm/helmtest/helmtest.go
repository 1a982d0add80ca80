// Package helmtest is chartserve for tests: a small chart that exercises
// what helm-controller does to a release, packaged, and served.
package helmtest

import (
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helm/chartserve"
)

// Package packages a chart's files (path in the chart: content).
func Package(t testing.TB, files map[string]string) []byte {
	t.Helper()
	a, err := chartserve.Package(t.TempDir(), files)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Serve serves archives in a chart repository and in a registry under
// "charts", on loopback, until the test ends.
func Serve(t testing.TB, archives ...[]byte) *chartserve.Server {
	t.Helper()
	s, err := chartserve.Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.AddToRepo(archives...); err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		if _, err := s.Push("charts", a); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ServeDir serves the charts under dir as chartserve.Server.ServeDir does,
// on loopback, until the test ends.
func ServeDir(t testing.TB, dir string) *chartserve.Server {
	t.Helper()
	s, err := chartserve.Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.ServeDir(dir); err != nil {
		t.Fatal(err)
	}
	return s
}

// Chart returns the files of a small chart: a Deployment, a Service and a
// ConfigMap of every value; a ServiceMonitor when the values ask for one
// and the capabilities have its API; a CRD in crds/; a hook Job and a test
// hook; a values.schema.json.
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

package benchgen

import (
	"fmt"
	"path"
	"strings"
)

// HelmCluster is the cluster directory of the repository WriteHelm writes.
const HelmCluster = "clusters/bench"

// WriteHelm writes a Flux repository of n HelmReleases of one chart under
// dir: a cluster whose Kustomization applies apps/, where an OCIRepository
// serves chart (an OCI repository, "127.0.0.1:PORT/charts/NAME", over plain
// HTTP) and each HelmRelease installs it with values of its own (replicas,
// image tag, a message, ingress on every third, redis on every fifth).
func WriteHelm(dir, chart string, n int) error {
	files := map[string]string{
		HelmCluster + "/flux-system/gotk-sync.yaml":     fmt.Sprintf(sources, path.Base(HelmCluster)),
		HelmCluster + "/flux-system/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n",
		HelmCluster + "/apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`,
		"apps/source.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: chart
  namespace: flux-system
spec:
  interval: 1h
  insecure: true
  url: oci://` + chart + `
  ref:
    semver: "6.x"
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
`,
	}
	resources := []string{"source.yaml"}
	for i := range n {
		name := fmt.Sprintf("app-%03d", i)
		resources = append(resources, name+".yaml")
		files["apps/"+name+".yaml"] = fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[1]s
  namespace: flux-system
spec:
  interval: 30m
  targetNamespace: %[1]s
  releaseName: %[1]s
  chartRef:
    kind: OCIRepository
    name: chart
  values:
    replicaCount: %[2]d
    image:
      tag: "6.7.%[3]d"
    ui:
      message: "app %[3]d"
    ingress:
      enabled: %[4]t
      host: %[1]s.example.com
    redis:
      enabled: %[5]t
`, name, i%5+1, i, i%3 == 0, i%5 == 0)
	}
	files["apps/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + strings.Join(resources, "\n  - ") + "\n"
	data := make(map[string][]byte, len(files))
	for name, content := range files {
		data[name] = []byte(content)
	}
	return writeFiles(dir, data)
}

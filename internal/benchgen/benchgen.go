// Package benchgen writes the generated repository the benchmarks and the
// correctness tests run on: N copies of the sock-shop application, each with
// a base and development, test and prod overlays (images with
// $imagepolicy markers, replicas, a configMapGenerator, a JSON patch), and
// one Flux Kustomization per overlay. At N=100 that is 300 render roots and
// about 9,000 objects.
package benchgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Envs are the overlays of every copy.
func Envs() []string { return []string{"development", "test", "prod"} }

// Write writes n copies into dir, the base of each made from demo (the
// sock-shop complete-demo.yaml).
func Write(dir string, n int, demo []byte) error {
	files := map[string][]byte{
		"clusters/bench/sources.yaml": []byte(sources),
	}
	for i := 0; i < n; i++ {
		app := fmt.Sprintf("app-%03d", i)
		ns := "sock-shop-" + fmt.Sprintf("%03d", i)
		base := "apps/" + app + "/base/"
		files[base+"complete-demo.yaml"] = bytes.ReplaceAll(demo, []byte("namespace: sock-shop"), []byte("namespace: "+ns))
		files[base+"kustomization.yaml"] = []byte(fmt.Sprintf(baseKustomization, ns))
		for j, env := range Envs() {
			files["apps/"+app+"/overlays/"+env+"/kustomization.yaml"] = []byte(fmt.Sprintf(overlay, ns, env, i, j+1))
			files["apps/"+app+"/overlays/"+env+"/settings.env"] = []byte(fmt.Sprintf("ENVIRONMENT=%s\nAPP=%s\n", env, app))
			files["clusters/bench/"+app+"-"+env+".yaml"] = []byte(fmt.Sprintf(fluxKustomization, app, env))
		}
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Roots is the number of render roots n copies make.
func Roots(n int) int { return n * len(Envs()) }

const sources = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: https://example.com/bench/fleet.git
`

const baseKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - complete-demo.yaml
`

// overlay takes the namespace, the environment, the copy's number (the
// build in its tag) and the front-end's replica count.
const overlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %[1]s
resources:
  - ../../base
images:
  - name: weaveworksdemos/front-end
    newName: 123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end # {"$imagepolicy": "%[1]s:front-end:name"}
    newTag: main-d480788-%[3]d # {"$imagepolicy": "%[1]s:front-end:tag"}
replicas:
  - name: front-end
    count: %[4]d
configMapGenerator:
  - name: settings
    envs:
      - settings.env
patches:
  - target:
      kind: Deployment
      name: front-end
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value:
          name: ENVIRONMENT
          value: %[2]s
`

const fluxKustomization = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %[1]s-%[2]s
  namespace: flux-system
spec:
  interval: 10m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps/%[1]s/overlays/%[2]s
  prune: true
`

// Package benchgen writes the generated repository the benchmarks and the
// correctness tests run on: copies of the sock-shop application, each with
// a base and development, test and prod overlays (images, replicas, a
// configMapGenerator, a JSON patch), one Flux Kustomization per overlay in
// that environment's cluster folder, which `flux bootstrap`'s sync of that
// cluster applies, and, in the development overlay, the
// image automation of the walkthrough: an ImageRepository, an ImagePolicy
// picking the highest build of main-<sha>-<build>, and $imagepolicy markers
// on the front-end's image. At 100 copies that is 303 render roots (3
// clusters of 100 Kustomizations, each read as its cluster's sync renders
// it), about 9,000 objects and 100 ImagePolicies.
package benchgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Envs are the overlays of every copy, and the clusters they are applied to.
func Envs() []string { return []string{"development", "test", "prod"} }

// DefaultRegistry is where the front-end images are, as in the walkthrough.
const DefaultRegistry = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// Options shape the generated repository.
type Options struct {
	// Copies of the application; 3 render roots each.
	Copies int
	// Registry is the host (and port) of the image repositories; the
	// default is the walkthrough's ECR registry.
	Registry string
	// Insecure marks the ImageRepositories as plain-HTTP registries (a
	// loopback test registry).
	Insecure bool
}

// Write writes the repository into dir, the base of each copy made from
// demo (the sock-shop complete-demo.yaml).
func Write(dir string, demo []byte, o Options) error {
	if o.Registry == "" {
		o.Registry = DefaultRegistry
	}
	files := map[string][]byte{}
	for _, env := range Envs() {
		files["clusters/"+env+"/sources.yaml"] = []byte(fmt.Sprintf(sources, env))
	}
	for i := 0; i < o.Copies; i++ {
		app := App(i)
		ns := Namespace(i)
		base := "apps/" + app + "/base/"
		files[base+"complete-demo.yaml"] = bytes.ReplaceAll(demo, []byte("namespace: sock-shop"), []byte("namespace: "+ns))
		files[base+"kustomization.yaml"] = []byte(fmt.Sprintf(baseKustomization, ns))
		image := o.Registry + "/" + Image(i)
		for j, env := range Envs() {
			dir := "apps/" + app + "/overlays/" + env + "/"
			images := fmt.Sprintf(pinnedImage, image, i)
			resources := "  - ../../base\n"
			if env == "development" {
				images = fmt.Sprintf(automatedImage, image, i, ns)
				resources += "  - image-automation.yaml\n"
				files[dir+"image-automation.yaml"] = []byte(fmt.Sprintf(imageAutomation, image, o.Insecure))
			}
			files[dir+"kustomization.yaml"] = []byte(fmt.Sprintf(overlay, ns, resources, images, j+1, env))
			files[dir+"settings.env"] = []byte(fmt.Sprintf("ENVIRONMENT=%s\nAPP=%s\n", env, app))
			files["clusters/"+env+"/"+app+".yaml"] = []byte(fmt.Sprintf(fluxKustomization, app, env))
		}
	}
	return writeFiles(dir, files)
}

// writeFiles writes files (slash-separated path under dir: content).
func writeFiles(dir string, files map[string][]byte) error {
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

// Roots is the number of render roots n copies make: one per overlay, and
// each cluster's sync.
func Roots(n int) int { return (n + 1) * len(Envs()) }

// App is the folder of copy i under apps/.
func App(i int) string { return fmt.Sprintf("app-%03d", i) }

// Namespace is the namespace of copy i's objects.
func Namespace(i int) string { return fmt.Sprintf("sock-shop-%03d", i) }

// Image is the repository, under the registry, of copy i's front-end.
func Image(i int) string { return App(i) + "/front-end" }

// Tag is the tag of build n of the front-end, as the walkthrough's
// CodePipeline names it.
func Tag(n int) string { return fmt.Sprintf("main-d480788-%d", n) }

// sources is a cluster's sync, as `flux bootstrap` writes it.
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
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/%s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`

const baseKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - complete-demo.yaml
`

// overlay takes the namespace, the resources, the images entry, the
// front-end's replica count and the environment.
const overlay = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %[1]s
resources:
%[2]simages:
%[3]sreplicas:
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
          value: %[5]s
`

// pinnedImage takes the image and the build; automatedImage also the
// ImagePolicy's namespace.
const (
	pinnedImage = `  - name: weaveworksdemos/front-end
    newName: %s
    newTag: main-d480788-%d
`
	automatedImage = `  - name: weaveworksdemos/front-end
    newName: %[1]s # {"$imagepolicy": "%[3]s:front-end:name"}
    newTag: main-d480788-%[2]d # {"$imagepolicy": "%[3]s:front-end:tag"}
`
)

// imageAutomation takes the image and whether its registry is plain HTTP;
// the namespace is the overlay's.
const imageAutomation = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: front-end
spec:
  image: %s
  interval: 5m0s
  insecure: %t
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: front-end
spec:
  imageRepositoryRef:
    name: front-end
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<buildnumber>.*)'
    extract: '$buildnumber'
  policy:
    numerical:
      order: asc
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

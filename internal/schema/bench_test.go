package schema

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
)

// benchObjects builds what a 300-root repository renders (the size
// internal/benchgen generates): for each root, the sock-shop
// complete-demo objects in their own namespace, a ConfigMap and the Flux
// Kustomization that applies it, about 9,300 objects.
func benchObjects(b *testing.B) []map[string]any {
	b.Helper()
	demo := readObjects(b, completeDemo)
	var out []map[string]any
	for root := 0; root < 300; root++ {
		ns := fmt.Sprintf("sock-shop-%03d", root)
		for _, o := range demo {
			obj := k8sruntime.DeepCopyJSON(o.obj)
			if meta, ok := obj["metadata"].(map[string]any); ok {
				if obj["kind"] == "Namespace" {
					meta["name"] = ns
				} else {
					meta["namespace"] = ns
				}
			}
			out = append(out, obj)
		}
		out = append(out,
			mustDecode(b, fmt.Sprintf(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings-%d, namespace: %s, creationTimestamp: null}
data: {ENVIRONMENT: dev, APP: app-%d}`, root, ns, root)),
			mustDecode(b, fmt.Sprintf(`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app-%03d, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/app-%03d/overlays/development
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  targetNamespace: %s
  postBuild: {substitute: {env: dev}}`, root, root, ns)),
		)
	}
	return out
}

// BenchmarkValidate validates the objects of a 300-root repository, one
// goroutine (serial) and one per CPU (parallel, as the validate command
// spreads roots); kinds are compiled before the timer starts.
func BenchmarkValidate(b *testing.B) {
	objs := benchObjects(b)
	v := newValidator(b, Default())
	for _, o := range objs {
		if vs, status := v.Validate(o); status != Validated || len(vs) > 0 {
			b.Fatalf("%v %s: %s", o["kind"], status, render(vs))
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(objs)), "ns/object")
		b.ReportMetric(float64(len(objs)), "objects/op")
	}
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, o := range objs {
				v.Validate(o)
			}
		}
		report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		workers := runtime.GOMAXPROCS(0)
		for i := 0; i < b.N; i++ {
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := w; j < len(objs); j += workers {
						v.Validate(objs[j])
					}
				}()
			}
			wg.Wait()
		}
		report(b)
	})
}

// BenchmarkNew measures New, which every command that validates pays once.
func BenchmarkNew(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := New(Default()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadKubernetes times reading one version's embedded data, which
// every validating run does once.
func BenchmarkReadKubernetes(b *testing.B) {
	version := embeddedVersions()[len(embeddedVersions())-1]
	for b.Loop() {
		if _, err := readKubernetes(version); err != nil {
			b.Fatal(err)
		}
	}
}

package gitops_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kubectl-gitops/kubectl-gitops/gitops"
)

// The walkthrough's application repository: kustomize base and overlays.
const microservices = "../testdata/examples/sock-shop/microservices-repo"

// Render every overlay of the sock-shop application, and show where each
// puts the front end and which image it runs.
func ExampleRepository_Render() {
	r, err := gitops.Open(microservices, gitops.Options{Root: microservices, NoCache: true, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	roots, err := r.Render(context.Background(), gitops.Scope{Paths: []string{"deploy/kubernetes/overlays"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, root := range roots {
		objs, err := root.Objects()
		if err != nil {
			log.Fatal(err)
		}
		for _, o := range objs {
			meta := o["metadata"].(map[string]any)
			if o["kind"] == "Deployment" && meta["name"] == "front-end" {
				spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				image := spec["containers"].([]any)[0].(map[string]any)["image"]
				fmt.Printf("%s: %d objects, front-end in %s runs %s\n", root.Path, len(objs), meta["namespace"], image)
			}
		}
	}
	// Output:
	// deploy/kubernetes/overlays/development: 29 objects, front-end in sock-shop runs 123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end:main-d480788-24
	// deploy/kubernetes/overlays/prod: 29 objects, front-end in sock-shop runs 123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end:main-1f49071-20
	// deploy/kubernetes/overlays/test: 29 objects, front-end in sock-shop runs 123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end:main-1f49071-20
}

// The same walkthrough with the mistakes people make in it.
const mistakes = "../testdata/examples/sock-shop-walkthrough-mistakes/flux-repo"

// Check a Flux repository and print each finding where it is.
func ExampleRepository_Validate() {
	r, err := gitops.Open(mistakes, gitops.Options{Root: mistakes, NoCache: true, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	report, err := r.Validate(context.Background(), gitops.Scope{}, gitops.Check{KubernetesVersion: "v1.35"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range report.Findings {
		fmt.Printf("%s:%d: %s %s: %s\n", f.File, f.Line, f.Severity, f.Rule, f.Message)
	}
	fmt.Println("failed:", report.Failed())
	// Output:
	// apps/base/sock-shop/tenant.yaml:59: warning not-rendered: Kustomization sock-shop/sock-shop is not rendered nor checked: its source GitRepository/sock-shop/sock-shop is another repository (https://git-codecommit.us-west-2.amazonaws.com/v1/repos/microservices-repo)
	// apps/overlays/development/sock-shop/image-automation.yaml:3: warning deprecated-api: image.toolkit.fluxcd.io/v1beta1 ImageUpdateAutomation was removed in Flux v2.7 (deprecated in v2.3): use image.toolkit.fluxcd.io/v1; the repository names no Flux release for this cluster: an error on Flux v2.7 and later; pass --flux-version or set fluxVersion in .gitops.yaml to check it against the release it runs
	// apps/overlays/development/sock-shop/policy.yaml:1: warning deprecated-api: image.toolkit.fluxcd.io/v1beta1 ImagePolicy was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1; the repository names no Flux release for this cluster: an error on Flux v2.7 and later; pass --flux-version or set fluxVersion in .gitops.yaml to check it against the release it runs
	// apps/overlays/development/sock-shop/policy.yaml:7: error flux-reference: ImagePolicy default/sock-shop-front-end refers to ImageRepository default/sock-shop-front-end, which is not defined in this repository
	// apps/overlays/development/sock-shop/registry.yaml:3: warning deprecated-api: image.toolkit.fluxcd.io/v1beta1 ImageRepository was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1; the repository names no Flux release for this cluster: an error on Flux v2.7 and later; pass --flux-version or set fluxVersion in .gitops.yaml to check it against the release it runs
	// failed: true
}

// Run the validate hook on a file a commit changes.
func ExampleRepository_Hook() {
	r, err := gitops.Open(mistakes, gitops.Options{Root: mistakes, NoCache: true, Offline: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	report, err := r.Hook(context.Background(), "gitops-validate", []string{"apps/overlays/development/sock-shop/policy.yaml"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range report.Findings {
		fmt.Printf("%s:%d: %s\n", f.File, f.Line, f.Rule)
	}
	fmt.Println(report.Summary.Roots, "root checked, failed:", report.Failed())
	// Output:
	// apps/overlays/development/sock-shop/image-automation.yaml:3: deprecated-api
	// apps/overlays/development/sock-shop/policy.yaml:1: deprecated-api
	// apps/overlays/development/sock-shop/policy.yaml:7: flux-reference
	// apps/overlays/development/sock-shop/registry.yaml:3: deprecated-api
	// 1 root checked, failed: true
}

package plugin

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/workspace"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// renderChange renders what changes (file contents on top of baseTree)
// would do: the rendered diff, and the validation of the roots and files
// the change touches.
func renderChange(ctx context.Context, ro *repoOptions, baseTree repo.Tree, changes map[string][]byte) ([]diff.RootDiff, *validate.Report, error) {
	headTree := repo.Overlay(baseTree, changes)
	sides := make([]diff.Side, 2)
	for i, tree := range []repo.Tree{baseTree, headTree} {
		eng, err := ro.Engine(tree)
		if err != nil {
			return nil, nil, err
		}
		disc, err := ro.Discover(ctx, eng)
		if err != nil {
			return nil, nil, err
		}
		sides[i] = diff.Side{Engine: eng, Repository: disc}
	}
	rendered, broken, err := diff.Revisions(ctx, sides[0], sides[1], []string{"."}, diff.Options{})
	if err != nil {
		return nil, nil, err
	}
	if len(broken) > 0 {
		return nil, nil, fmt.Errorf("the change breaks %s: %v", broken[0].Root, broken[0].Err)
	}
	var files []string
	for f := range changes {
		files = append(files, f)
	}
	sort.Strings(files)
	report, err := ro.Check(ctx, headTree, workspace.Scope{Files: files}, workspace.Settings{})
	return rendered, report, err
}

// listFluxImageObjects reads every ImagePolicy and ImageRepository of the
// cluster, in the version the cluster prefers.
func listFluxImageObjects(ctx context.Context, cfg *rest.Config) ([]map[string]any, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return nil, fmt.Errorf("cannot reach the cluster at %s: %w", cfg.Host, err)
	}
	version := ""
	for _, g := range groups.Groups {
		if g.Name == images.Group {
			version = g.PreferredVersion.Version
		}
	}
	if version == "" {
		return nil, fmt.Errorf("the cluster at %s serves no %s API: is Flux's image automation installed?", cfg.Host, images.Group)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, resource := range []string{"imagerepositories", "imagepolicies"} {
		list, err := client.Resource(schema.GroupVersionResource{Group: images.Group, Version: version, Resource: resource}).
			List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", resource, err)
		}
		for i := range list.Items {
			out = append(out, objectOf(&list.Items[i]))
		}
	}
	return out, nil
}

func objectOf(u *unstructured.Unstructured) map[string]any { return u.Object }

package plugin

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
)

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

package live

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
)

// ImageObjects reads every ImagePolicy and ImageRepository of the
// cluster, in the version the cluster prefers, retrying as Diff does.
func ImageObjects(ctx context.Context, cfg *rest.Config) ([]map[string]any, error) {
	cfg = rest.CopyConfig(cfg)
	withRetries(cfg)
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
			out = append(out, list.Items[i].Object)
		}
	}
	return out, nil
}

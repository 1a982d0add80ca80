package deprecation

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

func TestCheckKubernetes(t *testing.T) {
	tests := []struct {
		name              string
		apiVersion, kind  string
		kubernetesVersion string
		want              string // message; empty for no finding
		wantSeverity      Severity
	}{
		{
			name:       "removed beta",
			apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", kubernetesVersion: "v1.30",
			want:         "policy/v1beta1 PodDisruptionBudget was removed in Kubernetes v1.25: use policy/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "removed in exactly the target release",
			apiVersion: "batch/v1beta1", kind: "CronJob", kubernetesVersion: "1.25",
			want:         "batch/v1beta1 CronJob was removed in Kubernetes v1.25: use batch/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "deprecated, not yet removed",
			apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", kubernetesVersion: "v1.22.3",
			want:         "policy/v1beta1 PodDisruptionBudget is deprecated since Kubernetes v1.21 and will be removed in v1.25: use policy/v1",
			wantSeverity: SeverityWarning,
		},
		{
			name:       "before its deprecation",
			apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", kubernetesVersion: "v1.20",
		},
		{
			name:       "extensions Deployment",
			apiVersion: "extensions/v1beta1", kind: "Deployment", kubernetesVersion: "v1.16",
			want:         "extensions/v1beta1 Deployment was removed in Kubernetes v1.16: use apps/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "extensions Ingress moves group",
			apiVersion: "extensions/v1beta1", kind: "Ingress", kubernetesVersion: "v1.30",
			want:         "extensions/v1beta1 Ingress was removed in Kubernetes v1.22: use networking.k8s.io/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "apps/v1beta2 StatefulSet",
			apiVersion: "apps/v1beta2", kind: "StatefulSet", kubernetesVersion: "v1.29",
			want:         "apps/v1beta2 StatefulSet was removed in Kubernetes v1.16: use apps/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "upstream tag names a list; the kind is used",
			apiVersion: "networking.k8s.io/v1beta1", kind: "IngressClass", kubernetesVersion: "v1.22",
			want:         "networking.k8s.io/v1beta1 IngressClass was removed in Kubernetes v1.22: use networking.k8s.io/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "GA kind deprecated without removal",
			apiVersion: "v1", kind: "Endpoints", kubernetesVersion: "v1.33",
			want:         "v1 Endpoints is deprecated since Kubernetes v1.33: use discovery.k8s.io/v1 EndpointSlice",
			wantSeverity: SeverityWarning,
		},
		{
			name:       "GA kind before its deprecation",
			apiVersion: "v1", kind: "Endpoints", kubernetesVersion: "v1.32",
		},
		{
			name:       "GA kind deprecated with no replacement",
			apiVersion: "v1", kind: "ComponentStatus", kubernetesVersion: "v1.30",
			want:         "v1 ComponentStatus is deprecated since Kubernetes v1.19",
			wantSeverity: SeverityWarning,
		},
		{
			name:       "supplement: HPA v2beta1",
			apiVersion: "autoscaling/v2beta1", kind: "HorizontalPodAutoscaler", kubernetesVersion: "v1.25",
			want:         "autoscaling/v2beta1 HorizontalPodAutoscaler was removed in Kubernetes v1.25: use autoscaling/v2",
			wantSeverity: SeverityError,
		},
		{
			name:       "supplement: HPA v2beta2 deprecated",
			apiVersion: "autoscaling/v2beta2", kind: "HorizontalPodAutoscaler", kubernetesVersion: "v1.25",
			want:         "autoscaling/v2beta2 HorizontalPodAutoscaler is deprecated since Kubernetes v1.23 and will be removed in v1.26: use autoscaling/v2",
			wantSeverity: SeverityWarning,
		},
		{
			name:       "supplement: PodSecurityPolicy has no replacement",
			apiVersion: "policy/v1beta1", kind: "PodSecurityPolicy", kubernetesVersion: "v1.25",
			want:         "policy/v1beta1 PodSecurityPolicy was removed in Kubernetes v1.25: use Pod Security Admission or a third-party admission webhook",
			wantSeverity: SeverityError,
		},
		{
			name:       "supplement: extensions PodSecurityPolicy while policy/v1beta1 is served",
			apiVersion: "extensions/v1beta1", kind: "PodSecurityPolicy", kubernetesVersion: "v1.20",
			want:         "extensions/v1beta1 PodSecurityPolicy was removed in Kubernetes v1.16: use policy/v1beta1",
			wantSeverity: SeverityError,
		},
		{
			name:       "supplement: extensions PodSecurityPolicy after policy/v1beta1 is gone",
			apiVersion: "extensions/v1beta1", kind: "PodSecurityPolicy", kubernetesVersion: "v1.25",
			want:         "extensions/v1beta1 PodSecurityPolicy was removed in Kubernetes v1.16: use Pod Security Admission or a third-party admission webhook",
			wantSeverity: SeverityError,
		},
		{
			name:       "supplement: apps/v1beta1 ReplicaSet from the guide",
			apiVersion: "apps/v1beta1", kind: "ReplicaSet", kubernetesVersion: "v1.16",
			want:         "apps/v1beta1 ReplicaSet was removed in Kubernetes v1.16: use apps/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "replacement chain stops at what the target serves",
			apiVersion: "flowcontrol.apiserver.k8s.io/v1beta1", kind: "FlowSchema", kubernetesVersion: "v1.27",
			want:         "flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema was removed in Kubernetes v1.26: use flowcontrol.apiserver.k8s.io/v1beta3",
			wantSeverity: SeverityError,
		},
		{
			name:       "replacement chain followed to its end",
			apiVersion: "flowcontrol.apiserver.k8s.io/v1beta1", kind: "FlowSchema", kubernetesVersion: "v1.32",
			want:         "flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema was removed in Kubernetes v1.26: use flowcontrol.apiserver.k8s.io/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "apiextensions CRD v1beta1",
			apiVersion: "apiextensions.k8s.io/v1beta1", kind: "CustomResourceDefinition", kubernetesVersion: "v1.22",
			want:         "apiextensions.k8s.io/v1beta1 CustomResourceDefinition was removed in Kubernetes v1.22: use apiextensions.k8s.io/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "kube-aggregator APIService v1beta1",
			apiVersion: "apiregistration.k8s.io/v1beta1", kind: "APIService", kubernetesVersion: "v1.24",
			want:         "apiregistration.k8s.io/v1beta1 APIService was removed in Kubernetes v1.22: use apiregistration.k8s.io/v1",
			wantSeverity: SeverityError,
		},
		{
			name:       "empty version means the newest known release",
			apiVersion: "resource.k8s.io/v1beta2", kind: "ResourceClaim", kubernetesVersion: "",
			want:         "resource.k8s.io/v1beta2 ResourceClaim is deprecated since Kubernetes v1.36 and will be removed in v1.39: use resource.k8s.io/v1",
			wantSeverity: SeverityWarning,
		},
		{
			name:       "current API",
			apiVersion: "apps/v1", kind: "Deployment", kubernetesVersion: "v1.30",
		},
		{
			name:       "unknown API",
			apiVersion: "example.com/v1", kind: "Widget", kubernetesVersion: "v1.30",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := Check(tt.apiVersion, tt.kind, tt.kubernetesVersion, "")
			if tt.want == "" {
				if ok {
					t.Fatalf("Check() = %+v, want no finding", f)
				}
				return
			}
			if !ok {
				t.Fatalf("Check() found nothing, want %q", tt.want)
			}
			if diff := cmp.Diff(tt.want, f.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if f.Severity != tt.wantSeverity {
				t.Errorf("severity = %s, want %s", f.Severity, tt.wantSeverity)
			}
			if f.Removed != (tt.wantSeverity == SeverityError) {
				t.Errorf("removed = %v with severity %s", f.Removed, f.Severity)
			}
		})
	}
}

// TestCheckFlux pins every Flux API version that was deprecated or removed,
// judged against the bundled Flux release whatever the Kubernetes version.
func TestCheckFlux(t *testing.T) {
	tests := []struct {
		name             string
		apiVersion, kind string
		want             string // message; empty for no finding
	}{
		// image.toolkit.fluxcd.io
		{
			name:       "image v1beta1 ImagePolicy (the EKS walkthrough's version)",
			apiVersion: "image.toolkit.fluxcd.io/v1beta1", kind: "ImagePolicy",
			want: "image.toolkit.fluxcd.io/v1beta1 ImagePolicy was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1beta1 ImageRepository",
			apiVersion: "image.toolkit.fluxcd.io/v1beta1", kind: "ImageRepository",
			want: "image.toolkit.fluxcd.io/v1beta1 ImageRepository was removed in Flux v2.7 (never marked deprecated; superseded by v1beta2 in Flux v0.40): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1beta1 ImageUpdateAutomation",
			apiVersion: "image.toolkit.fluxcd.io/v1beta1", kind: "ImageUpdateAutomation",
			want: "image.toolkit.fluxcd.io/v1beta1 ImageUpdateAutomation was removed in Flux v2.7 (deprecated in v2.3): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1beta2 ImagePolicy",
			apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImagePolicy",
			want: "image.toolkit.fluxcd.io/v1beta2 ImagePolicy was removed in Flux v2.9 (deprecated in v2.7): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1beta2 ImageRepository",
			apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImageRepository",
			want: "image.toolkit.fluxcd.io/v1beta2 ImageRepository was removed in Flux v2.9 (deprecated in v2.7): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1beta2 ImageUpdateAutomation",
			apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImageUpdateAutomation",
			want: "image.toolkit.fluxcd.io/v1beta2 ImageUpdateAutomation was removed in Flux v2.9 (deprecated in v2.7): use image.toolkit.fluxcd.io/v1",
		},
		{
			name:       "image v1alpha2",
			apiVersion: "image.toolkit.fluxcd.io/v1alpha2", kind: "ImagePolicy",
			want: "image.toolkit.fluxcd.io/v1alpha2 ImagePolicy was removed in Flux v0.37: use image.toolkit.fluxcd.io/v1",
		},
		{name: "image v1", apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImagePolicy"},
		// kustomize.toolkit.fluxcd.io
		{
			name:       "kustomize v1beta1",
			apiVersion: "kustomize.toolkit.fluxcd.io/v1beta1", kind: "Kustomization",
			want: "kustomize.toolkit.fluxcd.io/v1beta1 Kustomization was removed in Flux v2.7 (deprecated in v2.0): use kustomize.toolkit.fluxcd.io/v1",
		},
		{
			name:       "kustomize v1beta2",
			apiVersion: "kustomize.toolkit.fluxcd.io/v1beta2", kind: "Kustomization",
			want: "kustomize.toolkit.fluxcd.io/v1beta2 Kustomization was removed in Flux v2.8 (deprecated in v2.0): use kustomize.toolkit.fluxcd.io/v1",
		},
		{name: "kustomize v1", apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization"},
		// source.toolkit.fluxcd.io
		{
			name:       "source v1beta1 GitRepository",
			apiVersion: "source.toolkit.fluxcd.io/v1beta1", kind: "GitRepository",
			want: "source.toolkit.fluxcd.io/v1beta1 GitRepository was removed in Flux v2.7 (deprecated in v2.0): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta1 HelmRepository",
			apiVersion: "source.toolkit.fluxcd.io/v1beta1", kind: "HelmRepository",
			want: "source.toolkit.fluxcd.io/v1beta1 HelmRepository was removed in Flux v2.7 (deprecated in v2.3): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta1 HelmChart",
			apiVersion: "source.toolkit.fluxcd.io/v1beta1", kind: "HelmChart",
			want: "source.toolkit.fluxcd.io/v1beta1 HelmChart was removed in Flux v2.7 (deprecated in v2.3): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta1 Bucket",
			apiVersion: "source.toolkit.fluxcd.io/v1beta1", kind: "Bucket",
			want: "source.toolkit.fluxcd.io/v1beta1 Bucket was removed in Flux v2.7 (deprecated in v2.3): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta2 GitRepository",
			apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: "GitRepository",
			want: "source.toolkit.fluxcd.io/v1beta2 GitRepository was removed in Flux v2.8 (deprecated in v2.0): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta2 HelmRepository",
			apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: "HelmRepository",
			want: "source.toolkit.fluxcd.io/v1beta2 HelmRepository was removed in Flux v2.8 (deprecated in v2.3): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta2 HelmChart",
			apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: "HelmChart",
			want: "source.toolkit.fluxcd.io/v1beta2 HelmChart was removed in Flux v2.8 (deprecated in v2.3): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta2 Bucket",
			apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: "Bucket",
			want: "source.toolkit.fluxcd.io/v1beta2 Bucket was removed in Flux v2.8 (deprecated in v2.4): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1beta2 OCIRepository",
			apiVersion: "source.toolkit.fluxcd.io/v1beta2", kind: "OCIRepository",
			want: "source.toolkit.fluxcd.io/v1beta2 OCIRepository was removed in Flux v2.8 (deprecated in v2.6): use source.toolkit.fluxcd.io/v1",
		},
		{
			name:       "source v1alpha1, release not established",
			apiVersion: "source.toolkit.fluxcd.io/v1alpha1", kind: "GitRepository",
			want: "source.toolkit.fluxcd.io/v1alpha1 GitRepository is not served by Flux v2.9.4 (removed before Flux v2.0): use source.toolkit.fluxcd.io/v1",
		},
		{name: "source v1", apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository"},
		// helm.toolkit.fluxcd.io
		{
			name:       "helm v2beta1",
			apiVersion: "helm.toolkit.fluxcd.io/v2beta1", kind: "HelmRelease",
			want: "helm.toolkit.fluxcd.io/v2beta1 HelmRelease was removed in Flux v2.7 (deprecated in v2.2): use helm.toolkit.fluxcd.io/v2",
		},
		{
			name:       "helm v2beta2",
			apiVersion: "helm.toolkit.fluxcd.io/v2beta2", kind: "HelmRelease",
			want: "helm.toolkit.fluxcd.io/v2beta2 HelmRelease was removed in Flux v2.8 (deprecated in v2.3): use helm.toolkit.fluxcd.io/v2",
		},
		{name: "helm v2", apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease"},
		// notification.toolkit.fluxcd.io
		{
			name:       "notification v1beta1 Alert",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta1", kind: "Alert",
			want: "notification.toolkit.fluxcd.io/v1beta1 Alert was removed in Flux v2.7 (deprecated in v2.2): use notification.toolkit.fluxcd.io/v1beta3",
		},
		{
			name:       "notification v1beta1 Provider",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta1", kind: "Provider",
			want: "notification.toolkit.fluxcd.io/v1beta1 Provider was removed in Flux v2.7 (deprecated in v2.2): use notification.toolkit.fluxcd.io/v1beta3",
		},
		{
			name:       "notification v1beta1 Receiver",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta1", kind: "Receiver",
			want: "notification.toolkit.fluxcd.io/v1beta1 Receiver was removed in Flux v2.7 (deprecated in v2.0): use notification.toolkit.fluxcd.io/v1",
		},
		{
			name:       "notification v1beta2 Alert",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta2", kind: "Alert",
			want: "notification.toolkit.fluxcd.io/v1beta2 Alert was removed in Flux v2.9 (deprecated in v2.2): use notification.toolkit.fluxcd.io/v1beta3",
		},
		{
			name:       "notification v1beta2 Provider",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta2", kind: "Provider",
			want: "notification.toolkit.fluxcd.io/v1beta2 Provider was removed in Flux v2.9 (deprecated in v2.2): use notification.toolkit.fluxcd.io/v1beta3",
		},
		{
			name:       "notification v1beta2 Receiver",
			apiVersion: "notification.toolkit.fluxcd.io/v1beta2", kind: "Receiver",
			want: "notification.toolkit.fluxcd.io/v1beta2 Receiver was removed in Flux v2.9 (deprecated in v2.0): use notification.toolkit.fluxcd.io/v1",
		},
		{name: "notification v1beta3 Alert", apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Alert"},
		{name: "notification v1 Receiver", apiVersion: "notification.toolkit.fluxcd.io/v1", kind: "Receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, kube := range []string{"v1.20", "v1.33", ""} {
				f, ok := Check(tt.apiVersion, tt.kind, kube, "")
				if tt.want == "" {
					if ok {
						t.Fatalf("Check(%q) = %+v, want no finding", kube, f)
					}
					continue
				}
				if !ok {
					t.Fatalf("Check(%q) found nothing, want %q", kube, tt.want)
				}
				if diff := cmp.Diff(tt.want, f.Message); diff != "" {
					t.Errorf("Check(%q) message (-want +got):\n%s", kube, diff)
				}
				if !f.Removed || f.Severity != SeverityError {
					t.Errorf("Check(%q): removed %v, severity %s; want removed, error", kube, f.Removed, f.Severity)
				}
				if f.Against != (Release{2, 9}) {
					t.Errorf("Check(%q) judged against %s, want v2.9", kube, f.Against)
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name             string
		apiVersion, kind string
		check            func(t *testing.T, i Info, ok bool)
	}{
		{
			name:       "core group",
			apiVersion: "v1", kind: "Endpoints",
			check: func(t *testing.T, i Info, ok bool) {
				if !ok || i.Group != "" || i.Deprecated != (Release{1, 33}) || !i.Removed.IsZero() {
					t.Errorf("Lookup = %+v, %v; want core v1 Endpoints deprecated in v1.33, not removed", i, ok)
				}
			},
		},
		{
			name:       "Flux",
			apiVersion: "image.toolkit.fluxcd.io/v1beta1", kind: "ImageUpdateAutomation",
			check: func(t *testing.T, i Info, ok bool) {
				want := Info{
					GroupVersionKind: gvk("image.toolkit.fluxcd.io", "v1beta1", "ImageUpdateAutomation"),
					Project:          Flux, Deprecated: Release{2, 3}, Removed: Release{2, 7},
					Replacement: gvk("image.toolkit.fluxcd.io", "v1", "ImageUpdateAutomation"),
				}
				if !ok {
					t.Fatal("not found")
				}
				if diff := cmp.Diff(want, i); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "malformed apiVersion",
			apiVersion: "a/b/c", kind: "Deployment",
			check: func(t *testing.T, i Info, ok bool) {
				if ok {
					t.Errorf("Lookup = %+v, want nothing", i)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, ok := Lookup(tt.apiVersion, tt.kind)
			tt.check(t, i, ok)
		})
	}
}

func TestParseKubernetesVersion(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Release
		wantErr bool
	}{
		{name: "v-prefixed minor", in: "v1.30", want: Release{1, 30}},
		{name: "bare minor", in: "1.25", want: Release{1, 25}},
		{name: "patch", in: "v1.29.4", want: Release{1, 29}},
		{name: "vendor suffix", in: "v1.30.4-eks-a737599", want: Release{1, 30}},
		{name: "empty", in: "", wantErr: true},
		{name: "major only", in: "v1", wantErr: true},
		{name: "not v1", in: "v2.0", wantErr: true},
		{name: "words", in: "latest", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKubernetesVersion(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseKubernetesVersion(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseKubernetesVersion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestNoDuplicates checks that the hand-written tables add to the generated
// one rather than restate it: the supplement is only for kinds gone from
// k8s.io/api.
func TestNoDuplicates(t *testing.T) {
	seen := map[schema.GroupVersionKind]string{}
	for _, src := range []struct {
		name string
		list []Info
	}{
		{"generated", generatedKubernetesAPIs()},
		{"supplement", kubernetesSupplement()},
		{"flux", fluxAPIs()},
	} {
		for _, i := range src.list {
			if prev, dup := seen[i.GroupVersionKind]; dup {
				t.Errorf("%s: %v is already in %s", src.name, i.GroupVersionKind, prev)
			}
			seen[i.GroupVersionKind] = src.name
			if i.Deprecated.IsZero() && i.Removed.IsZero() && i.Note == "" {
				t.Errorf("%s: %v says neither when it was deprecated nor removed", src.name, i.GroupVersionKind)
			}
		}
	}
}

// knownKinds is every built-in kind of the k8s.io/api and
// k8s.io/apiextensions-apiserver versions the module builds with.
func knownKinds(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, admissionv1.AddToScheme, apidiscoveryv2.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestReplacementsAreCurrent checks the advice: following every entry's
// replacement (as Check does, at the newest known releases) ends at an API
// that is served, or at an explicit note when there is nothing to move to.
func TestReplacementsAreCurrent(t *testing.T) {
	scheme := knownKinds(t)
	served := map[schema.GroupVersionKind]bool{}
	for _, g := range fluxServedAPIs() {
		served[g] = true
	}
	for _, i := range All() {
		t.Run(i.APIVersion()+"/"+i.Kind, func(t *testing.T) {
			if i.Project == Flux {
				if !served[i.Replacement] {
					t.Errorf("replacement %v is not served by Flux %s", i.Replacement, BundledFluxVersion)
				}
				if i.Kind != i.Replacement.Kind {
					t.Errorf("replacement %v changes the kind", i.Replacement)
				}
				return
			}
			if i.Replacement.Empty() {
				return
			}
			latest := LatestKubernetes()
			r, note := resolve(i, latest)
			if r.Empty() {
				if note == "" {
					t.Errorf("replacement chain from %v ends at an API removed by %s, with no note", i.Replacement, latest)
				}
				return
			}
			if next, ok := Lookup(r.GroupVersion().String(), r.Kind); ok && next.Removed.reached(latest) {
				t.Errorf("replacement %v was removed in %s", r, next.Removed)
			}
			if r.Group == "apiregistration.k8s.io" {
				return // k8s.io/kube-aggregator is not a dependency of the module
			}
			if !scheme.Recognizes(r) {
				t.Errorf("replacement %v is not a kind of k8s.io/api %s", r, generatedAPIVersion)
			}
		})
	}
}

// TestGeneratedMatchesModule fails when k8s.io/api was bumped without
// `go generate ./internal/deprecation`.
func TestGeneratedMatchesModule(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info")
	}
	for _, dep := range bi.Deps {
		if dep.Path != "k8s.io/api" {
			continue
		}
		v := dep.Version
		if dep.Replace != nil {
			v = dep.Replace.Version
		}
		if v != generatedAPIVersion {
			t.Errorf("the table was generated from k8s.io/api %s but the module builds with %s: run go generate ./internal/deprecation", generatedAPIVersion, v)
		}
		return
	}
	t.Skip("k8s.io/api is not in the build info")
}

// TestFluxServedMatchesBundle checks fluxServedAPIs against the CRDs of the
// bundled gotk-components.yaml: the Flux release and every served version.
func TestFluxServedMatchesBundle(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "examples", "sock-shop", "flux-repo", "clusters", "dev-cluster", "flux-system", "gotk-components.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the bundled Flux components: %v", err)
	}
	if !bytes.Contains(data, []byte("# Flux Version: "+BundledFluxVersion+"\n")) {
		t.Errorf("%s is not Flux %s: update BundledFluxVersion, fluxServedAPIs and the Flux table", path, BundledFluxVersion)
	}
	if r := BundledFlux(); r.Major != 2 || r.Minor == 0 {
		t.Errorf("BundledFlux() = %v, not the minor release of %s", r, BundledFluxVersion)
	}
	var got []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &crd); err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		if crd.Kind != "CustomResourceDefinition" || !strings.HasSuffix(crd.Spec.Group, ".toolkit.fluxcd.io") {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Served {
				got = append(got, gvk(crd.Spec.Group, v.Name, crd.Spec.Names.Kind).String())
			}
		}
	}
	var want []string
	for _, g := range fluxServedAPIs() {
		want = append(want, g.String())
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("served Flux APIs (-fluxServedAPIs +%s):\n%s", path, diff)
	}
}

// TestCheckFluxRelease: a Flux API is judged against the Flux release the
// cluster runs: v2beta2 HelmRelease is served, deprecated, by v2.7 and
// gone in v2.8; an empty, newer-than-known or never-made (v1.x) release is
// the bundled one.
func TestCheckFluxRelease(t *testing.T) {
	tests := []struct {
		apiVersion, kind, flux string
		want                   string
		severity               Severity
	}{
		{"helm.toolkit.fluxcd.io/v2beta2", "HelmRelease", "v2.7", "helm.toolkit.fluxcd.io/v2beta2 HelmRelease is deprecated since Flux v2.3: use helm.toolkit.fluxcd.io/v2", SeverityWarning},
		{"helm.toolkit.fluxcd.io/v2beta2", "HelmRelease", "v2.8.3", "helm.toolkit.fluxcd.io/v2beta2 HelmRelease was removed in Flux v2.8 (deprecated in v2.3): use helm.toolkit.fluxcd.io/v2", SeverityError},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "v2.6", "helm.toolkit.fluxcd.io/v2beta1 HelmRelease is deprecated since Flux v2.2: use helm.toolkit.fluxcd.io/v2", SeverityWarning},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "", "helm.toolkit.fluxcd.io/v2beta1 HelmRelease was removed in Flux v2.7 (deprecated in v2.2): use helm.toolkit.fluxcd.io/v2", SeverityError},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "v2.99", "helm.toolkit.fluxcd.io/v2beta1 HelmRelease was removed in Flux v2.7 (deprecated in v2.2): use helm.toolkit.fluxcd.io/v2", SeverityError},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "v2.1", "", ""},
		{"source.toolkit.fluxcd.io/v1alpha1", "GitRepository", "v2.6", "source.toolkit.fluxcd.io/v1alpha1 GitRepository is not served by Flux v2.6 (removed before Flux v2.0): use source.toolkit.fluxcd.io/v1", SeverityError},
		// Flux 0.x: the betas were current; what it served of the rest,
		// the table does not say, so nothing is claimed.
		{"kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization", "v0.31", "", ""},
		{"source.toolkit.fluxcd.io/v1beta1", "HelmRepository", "v0.31.4", "", ""},
		{"source.toolkit.fluxcd.io/v1alpha1", "GitRepository", "v0.31", "", ""},
		{"image.toolkit.fluxcd.io/v1alpha2", "ImagePolicy", "v0.40", "image.toolkit.fluxcd.io/v1alpha2 ImagePolicy was removed in Flux v0.37: use image.toolkit.fluxcd.io/v1", SeverityError},
		{"helm.toolkit.fluxcd.io/v2beta1", "HelmRelease", "v1.2", "helm.toolkit.fluxcd.io/v2beta1 HelmRelease was removed in Flux v2.7 (deprecated in v2.2): use helm.toolkit.fluxcd.io/v2", SeverityError},
	}
	for _, tt := range tests {
		t.Run(tt.apiVersion+" on "+tt.flux, func(t *testing.T) {
			f, ok := Check(tt.apiVersion, tt.kind, "", tt.flux)
			if tt.want == "" {
				if ok {
					t.Fatalf("Check() = %+v, want no finding", f)
				}
				return
			}
			if !ok || f.Message != tt.want || f.Severity != tt.severity {
				t.Errorf("Check() = %v %q (%s), want %q (%s)", ok, f.Message, f.Severity, tt.want, tt.severity)
			}
		})
	}
}

package apiserver

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestDefaultBinDir(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "override",
			env:  map[string]string{EnvToolsCache: "/opt/tools", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"},
			want: "/opt/tools/bin",
		},
		{
			name: "xdg cache",
			env:  map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"},
			want: "/xdg/kubectl-gitops/tools/bin",
		},
		{
			name: "home",
			env:  map[string]string{"HOME": "/home/u"},
			want: "/home/u/.cache/kubectl-gitops/tools/bin",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultBinDir(func(k string) string { return tc.env[k] })
			if got != filepath.FromSlash(tc.want) {
				t.Errorf("DefaultBinDir() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMissingBinaries(t *testing.T) {
	if got := MissingBinaries(t.TempDir()); len(got) != 2 {
		t.Errorf("MissingBinaries(empty dir) = %v, want both binaries", got)
	}
}

func TestServer(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	admin := clientset(t, s.RESTConfig())

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apiserver-test"}}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns.Name},
		Data:       map[string]string{"color": "blue"},
	}
	if _, err := admin.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}
	if _, err := admin.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("reading namespace back: %v", err)
	}
	got, err := admin.CoreV1().ConfigMaps(ns.Name).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading configmap back: %v", err)
	}
	if got.Data["color"] != "blue" {
		t.Errorf("configmap data = %v, want color=blue", got.Data)
	}

	tests := []struct {
		name       string
		config     func(t *testing.T) *rest.Config
		wantForbid bool
	}{
		{name: "admin rest config", config: func(*testing.T) *rest.Config { return s.RESTConfig() }},
		{name: "admin kubeconfig", config: func(t *testing.T) *rest.Config { return fromKubeconfig(t, s.Kubeconfig(t)) }},
		{name: "viewer rest config", config: func(*testing.T) *rest.Config { return s.ViewerRESTConfig() }, wantForbid: true},
		{name: "viewer kubeconfig", config: func(t *testing.T) *rest.Config { return fromKubeconfig(t, s.ViewerKubeconfig(t)) }, wantForbid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := clientset(t, tc.config(t)).CoreV1().Secrets(ns.Name).List(ctx, metav1.ListOptions{})
			switch {
			case tc.wantForbid && !apierrors.IsForbidden(err):
				t.Errorf("listing secrets: got %v, want Forbidden", err)
			case !tc.wantForbid && err != nil:
				t.Errorf("listing secrets: %v", err)
			}
		})
	}
}

// TestOpenAPI pins the endpoints that schema generation reads.
func TestOpenAPI(t *testing.T) {
	s := Start(t)
	rc := clientset(t, s.RESTConfig()).Discovery().RESTClient()
	tests := []struct {
		name string
		path string
		key  string // a top-level key the document must have
	}{
		{name: "v2", path: "/openapi/v2", key: "definitions"},
		{name: "v3 index", path: "/openapi/v3", key: "paths"},
		{name: "v3 core", path: "/openapi/v3/api/v1", key: "components"},
		{name: "v3 apps", path: "/openapi/v3/apis/apps/v1", key: "components"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := rc.Get().AbsPath(tc.path).SetHeader("Accept", "application/json").DoRaw(context.Background())
			if err != nil {
				t.Fatalf("GET %s: %v", tc.path, err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("GET %s: not JSON: %v", tc.path, err)
			}
			if _, ok := doc[tc.key]; !ok {
				t.Errorf("GET %s: no %q key", tc.path, tc.key)
			}
		})
	}
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building client: %v", err)
	}
	return c
}

func fromKubeconfig(t *testing.T, path string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return cfg
}

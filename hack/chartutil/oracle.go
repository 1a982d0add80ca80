//go:build ignore

// Command chartutil-oracle merges a HelmRelease's values with
// helm-controller's own code, fluxcd/pkg/chartutil's
// ChartValuesFromReferences, for the tests that hold kubectl gitops's merge
// to it. It reads one case as JSON on standard input and prints the merged
// values, or {"error": "..."}, as JSON.
//
// It is its own module (the chartutil versions built on Helm v4 need Go
// 1.27, which the project does not): hack/chartutil/build.sh builds it
// into the tools cache.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/chartutil"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

type input struct {
	Namespace  string                       `json:"namespace"`
	Values     map[string]any               `json:"values"`
	ValuesFrom []meta.ValuesReference       `json:"valuesFrom"`
	ConfigMaps map[string]map[string]string `json:"configMaps"`
	Secrets    map[string]map[string]string `json:"secrets"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	var objs []client.Object
	for name, data := range in.ConfigMaps {
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Namespace}, Data: data})
	}
	for name, data := range in.Secrets {
		b := map[string][]byte{}
		for k, v := range data {
			b[k] = []byte(v)
		}
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Namespace}, Data: b})
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	out, err := chartutil.ChartValuesFromReferences(context.Background(), logr.Discard(), c, in.Namespace, in.Values, in.ValuesFrom...)
	enc := json.NewEncoder(os.Stdout)
	if err != nil {
		_ = enc.Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = enc.Encode(out)
}

package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

// TestParsed holds Parsed to its contract: what Lookups parsed is handed
// to the checks once, the same nodes, and no more than parsedKeep bytes of
// output are kept.
func TestParsed(t *testing.T) {
	configMap := func(name string, pad int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: apps}\ndata: {pad: %q}\n", name, strings.Repeat("x", pad))
	}
	small := render.FileResult("small.yaml", []byte(configMap("small", 10)))
	big := render.FileResult("big.yaml", []byte(configMap("big", parsedKeep)))
	var p Parsed
	for _, res := range []*render.Result{small, big} {
		if _, err := p.objects(res); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := p.take(small)
	if err != nil || len(kept) != 1 || kept[0].GetName() != "small" {
		t.Fatalf("take(small) = %v, %v", kept, err)
	}
	if again, _ := p.take(small); len(again) != 1 || again[0] == kept[0] {
		t.Errorf("a second take(small) gave the nodes handed out already")
	}
	if _, ok := p.objs[big]; ok {
		t.Errorf("kept the objects of %d bytes of output, past parsedKeep", parsedKeep)
	}
	if objs, err := p.take(big); err != nil || len(objs) != 1 || objs[0].GetName() != "big" {
		t.Errorf("take(big) = %v, %v", objs, err)
	}
	var none *Parsed
	if objs, err := none.take(small); err != nil || len(objs) != 1 {
		t.Errorf("a nil Parsed's take = %v, %v", objs, err)
	}
}

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHookChecksTheIndex runs a hook as pre-commit would, on staged files:
// it checks what the commit will hold, not the working tree.
func TestHookChecksTheIndex(t *testing.T) {
	app, _ := sockShop(t)
	overlay := devOverlay + "/kustomization.yaml"
	orig, err := os.ReadFile(filepath.Join(app.Dir, overlay))
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(app.Dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stage := func(file string) {
		t.Helper()
		wt, err := app.Git.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(file); err != nil {
			t.Fatal(err)
		}
	}
	hook := func() result {
		t.Helper()
		return run(t, app.Dir, nil, "hook", "gitops-validate", "--color", "never", overlay)
	}

	// A clean change is staged; a broken marker left unstaged is not what
	// the commit holds.
	write(overlay, strings.Replace(string(orig), "main-d480788-24", "main-1f49071-25", 1))
	stage(overlay)
	write(overlay, strings.Replace(string(orig), "sock-shop:sock-shop-front-end:tag", "sock-shop:nowhere:tag", 1))
	if r := hook(); r.code != 0 {
		t.Fatalf("the staged change is clean, the hook failed (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Staged, the same broken marker fails.
	stage(overlay)
	if r := hook(); r.code != 1 || !strings.Contains(r.stdout, "sock-shop/nowhere") {
		t.Fatalf("a staged broken marker: exit %d, want 1 with the finding:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A resource that exists in the working tree but was never added: the
	// commit would not build.
	write(devOverlay+"/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: sock-shop\n")
	write(overlay, strings.Replace(string(orig), "resources:\n", "resources:\n  - extra.yaml\n", 1))
	stage(overlay)
	r := hook()
	if r.code != 1 || !strings.Contains(r.stdout, "extra.yaml") {
		t.Fatalf("a staged kustomization listing an untracked file: exit %d, want 1 naming it:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Added, it builds.
	stage(devOverlay + "/extra.yaml")
	if r := hook(); r.code != 0 {
		t.Fatalf("with the file added, the hook failed (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}
}

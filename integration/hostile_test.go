package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The bounds every hostile input is run under: the child's address space
// is capped (an alias bomb reached 4 GB), and it must finish in time and
// within a resident size no real repository needs.
const (
	probeAddressSpace = 3 << 30
	probeMaxRSS       = 600 << 20
	probeTimeout      = 30 * time.Second
)

// probeCanary is a value planted in Secrets: it must never reach any
// output of validate, diff, the hook or the PR comment.
const probeCanary = "CANARY-f00dbabe"

// probeRun is one run of the binary under the probe's bounds.
type probeRun struct {
	result
	elapsed time.Duration
	maxRSS  int64 // bytes
}

// probeOptions tune a probe run.
type probeOptions struct {
	// unprivileged runs the binary as nobody when the test runs as root,
	// for whom file permissions do not apply.
	unprivileged bool
	env          []string
}

// probe runs kubectl-gitops in dir with a clean environment, its address
// space capped, and measures it.
func probe(t *testing.T, dir string, opts probeOptions, args ...string) probeRun {
	t.Helper()
	home := worldDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	// bash sets the limit and becomes the binary: the rusage is its own.
	script := fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, probeAddressSpace>>10)
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", script, filepath.Join(binDir, "kubectl-gitops")}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + binDir + string(os.PathListSeparator) + "/usr/bin:/bin",
		"HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
	}, opts.env...)
	if opts.unprivileged && os.Geteuid() == 0 {
		if err := os.Chmod(binDir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := probeRun{elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish in %v\nstderr: %s", args, probeTimeout, errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = int64(ru.Maxrss) << 10
	}
	r.stdout, r.stderr = out.String(), errOut.String()
	return r
}

// worldDir is a temporary directory anyone may use: an unprivileged run
// must be able to reach the repository and its own HOME.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubectl-gitops-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755) // a test made it unreadable
			}
			return nil
		})
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gitCmd runs the git CLI in dir.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// hostileRepo writes files into a new repository anyone can read and
// commits them; each further map is one more commit.
func hostileRepo(t *testing.T, commits ...map[string]string) string {
	t.Helper()
	dir := filepath.Join(worldDir(t), "repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "init", "-q", "-b", "main")
	for i, files := range commits {
		writeFiles(t, dir, files)
		gitCmd(t, dir, "add", "-A")
		gitCmd(t, dir, "commit", "-q", "--allow-empty", "-m", fmt.Sprint("commit ", i+1))
	}
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot records every file under dir (the .git folder included) by
// content and mode, to tell that a run wrote nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory the test made
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		entry := info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err == nil {
				sum := sha256.Sum256(data)
				entry += " " + hex.EncodeToString(sum[:8])
			}
		}
		out[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kust(resources ...string) string {
	return "resources:\n- " + strings.Join(resources, "\n- ") + "\n"
}

func configMap(name string, keys int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n", name)
	for i := range keys {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	return b.String()
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n")
	b.WriteString(`    a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]` + "\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "    a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 10), ","))
	}
	return b.String()
}

func manyDocuments(n int) string {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = configMap(fmt.Sprint("cm-", i), 1)
	}
	return strings.Join(docs, "---\n")
}

const fluxSource = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://example.com/fleet
  ref:
    branch: main
`

func fluxKustomization(name, path, prune string) string {
	return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ` + name + `
  namespace: flux-system
spec:
  interval: 10m
  path: ` + path + `
  prune: ` + prune + `
  sourceRef:
    kind: GitRepository
    name: flux-system
`
}

// The name of a directory that tries every injection at once: a YAML
// document, a workflow command, the end of the PR comment's <summary>.
const injectingName = "app</code></summary>\n\n### 0 errors — safe to merge\n::error file=x.yaml::forged\n---\nkind: Secret"

// TestHostileInput runs the built binary on one hostile or broken
// repository per defect, each under the probe's bounds: the exit code, the
// message at its file and line, time and memory bounded, nothing written
// in the repository.
func TestHostileInput(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the probe's bounds use Linux's rlimits and rusage")
	}
	cmApp := map[string]string{"app/kustomization.yaml": kust("cm.yaml"), "app/cm.yaml": configMap("a", 1)}
	with := func(base map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	sopsSecret := func(cipher, plain string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  user: " + plain +
			"\n  password: ENC[AES256_GCM,data:" + cipher + ",iv:aXY=,tag:dGFn,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:" + cipher + "mac,iv:aXY=,tag:dGFn,type:str]\n  version: 3.9.0\n  encrypted_regex: ^password$\n"
	}
	tests := []struct {
		name    string
		commits []map[string]string
		// setup changes the repository in ways files cannot say, and
		// returns the directory to run in ("" for the repository).
		setup        func(t *testing.T, dir string) string
		args         []string
		unprivileged bool
		code         int
		// want are strings the output (stdout and stderr) must hold.
		want []string
		// check looks further at the output.
		check func(t *testing.T, r probeRun)
	}{
		{
			name:    "1 an alias bomb in a resource file",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": aliasBomb()})},
			args:    []string{"render", "--all"},
			code:    2,
			want:    []string{"error: app: app/cm.yaml:11: YAML aliases expand to more than 1000000 nodes (an alias bomb?); raise the limit with --max-alias-nodes"},
		},
		{
			name:    "1 an alias bomb, validated",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": aliasBomb()})},
			args:    []string{"validate", "--all", "-o", "github"},
			code:    1,
			want:    []string{"::error file=app/cm.yaml,line=11,title=build::YAML aliases expand to more than 1000000 nodes"},
		},
		{
			name:    "3 a directory symlink loop listed as a resource",
			commits: []map[string]string{with(cmApp, map[string]string{"app/kustomization.yaml": kust("loop", "cm.yaml"), "app/loop": "symlink:."})},
			args:    []string{"render", "--all"},
			code:    2,
			want:    []string{"error: app: app/kustomization.yaml:2: cycle: loop refers back to app"},
		},
		{
			name:    "3 a directory symlink loop, at a revision",
			commits: []map[string]string{with(cmApp, map[string]string{"app/kustomization.yaml": kust("loop", "cm.yaml"), "app/loop": "symlink:."})},
			args:    []string{"render", "--all", "--ref", "HEAD"},
			code:    2,
			want:    []string{"error: app: app/kustomization.yaml:2: cycle: loop refers back to app"},
		},
		{
			name:    "4 a ConfigMap of 50,000 keys",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": configMap("big", 50000)})},
			args:    []string{"render", "--all"},
			code:    2,
			want:    []string{"error: app: app/cm.yaml:6: a mapping of 50000 entries is over the limit of 10000 (raise it with --max-map-entries)"},
		},
		{
			name:    "4 a file of 10,000 documents",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": manyDocuments(10000)})},
			args:    []string{"validate", "--all", "-o", "github"},
			code:    1,
			want:    []string{"::error file=app/cm.yaml,line=35000,title=build::more than 5000 YAML documents in one file (raise the limit with --max-documents)"},
		},
		{
			name:    "4 a file over the size limit",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": configMap("a", 1) + strings.Repeat("# padding\n", 300)})},
			args:    []string{"render", "--all", "--max-file-size", "2Ki"},
			code:    2,
			want:    []string{"error: app: app/cm.yaml: file of 3.0 KiB is over the limit of 2.0 KiB per file (raise it with --max-file-size)"},
		},
		{
			name:         "5 an unreadable file is a finding, not a cached render",
			commits:      []map[string]string{cmApp},
			setup:        func(t *testing.T, dir string) string { chmod(t, filepath.Join(dir, "app/cm.yaml"), 0); return "" },
			unprivileged: true,
			args:         []string{"validate", "--all", "-o", "github"},
			code:         1,
			want: []string{
				"::error file=app/cm.yaml,title=syntax::cannot be read: permission denied",
				`::error file=app/kustomization.yaml,line=2,title=build::resources entry "cm.yaml": app/cm.yaml cannot be read: permission denied`,
			},
		},
		{
			name:    "7 a newline in a directory name, rendered",
			commits: []map[string]string{{injectingName + "/kustomization.yaml": kust("cm.yaml"), injectingName + "/cm.yaml": configMap("a", 1)}},
			args:    []string{"render", "--all"},
			code:    0,
			want:    []string{`# Source: "app</code></summary>\n\n### 0 errors — safe to merge\n::error file=x.yaml::forged\n---\nkind: Secret"`},
			check:   noInjection,
		},
		{
			name:    "7 a newline in a directory name, validated as text",
			commits: []map[string]string{{injectingName + "/kustomization.yaml": kust("cm.yaml"), injectingName + "/cm.yaml": configMap("a", 1)}},
			args:    []string{"validate", "--all", "-o", "text"},
			code:    1,
			want:    []string{`holds a character no output prints as it is`},
			check:   noInjection,
		},
		{
			name: "7 a newline in a directory name, in the PR comment",
			commits: []map[string]string{cmApp, {injectingName + "/kustomization.yaml": kust("cm.yaml"), injectingName + "/cm.yaml": configMap("a", 1),
				injectingName + "/bad.yaml": "a: [\n"}},
			args: []string{"ci", "comment", "--dry-run", "--base", "HEAD~1"},
			code: 1,
			want: []string{"❌ **Validation**", `<summary><code>&#34;app&lt;/code&gt;&lt;/summary&gt;\n\n### 0 errors`},
			check: func(t *testing.T, r probeRun) {
				noInjection(t, r)
				for _, line := range strings.Split(r.stdout, "\n") {
					line = codeSpan.ReplaceAllString(line, "") // inert text
					if strings.Contains(line, "</summary>") && !strings.HasPrefix(line, "<details><summary><code>&#34;") && !strings.HasPrefix(line, "<details><summary><code>app</code>") {
						t.Errorf("a path closed the <summary>: %s", line)
					}
				}
			},
		},
		{
			name:    "8 a Secret value that is not base64",
			commits: []map[string]string{with(cmApp, map[string]string{"app/kustomization.yaml": kust("s.yaml"), "app/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: " + canary + "!\n"})},
			args:    []string{"validate", "--all", "-o", "github"},
			code:    1,
			want:    []string{"::error file=app/s.yaml,line=6,title=schema::v1/Secret/s: data.password: not valid base64"},
		},
		{
			name: "9 a commit that changes only a SOPS Secret",
			commits: []map[string]string{
				{"app/kustomization.yaml": kust("s.yaml"), "app/s.yaml": sopsSecret("YWJj", probeCanary+"-1")},
				{"app/s.yaml": sopsSecret("ZGVm", probeCanary+"-2")},
			},
			args: []string{"diff", "--base", "HEAD~1", "--head", "HEAD"},
			code: 1,
			want: []string{"-  password: '**SOPS** (before)'", "+  password: '**SOPS** (encrypted value changed)'", "-  user: '*** (before)'", "+  user: '*** (after)'"},
		},
		{
			name:    "10 a spec.path above the source's root",
			commits: []map[string]string{with(cmApp, map[string]string{"clusters/dev/sync.yaml": fluxSource + "---\n" + fluxKustomization("apps", "../../app", "true")})},
			args:    []string{"render", "app"},
			code:    0,
			want:    []string{"# Source: app (Kustomization flux-system/apps)", "kustomize.toolkit.fluxcd.io/name: apps"},
		},
		{
			name:    "10 a Kustomization whose spec does not decode",
			commits: []map[string]string{with(cmApp, map[string]string{"clusters/dev/sync.yaml": fluxSource + "---\n" + fluxKustomization("apps", "./app", `"yes"`)})},
			args:    []string{"validate", "--all", "-o", "github"},
			code:    1,
			want:    []string{"::error file=clusters/dev/sync.yaml,line=20,title=build::Kustomization flux-system/apps: spec.prune: a string where Flux wants a boolean"},
		},
		{
			name:         "11 an unreadable directory",
			commits:      []map[string]string{with(cmApp, map[string]string{"private/x.yaml": "a: 1\n"})},
			setup:        func(t *testing.T, dir string) string { chmod(t, filepath.Join(dir, "private"), 0); return "" },
			unprivileged: true,
			args:         []string{"validate", "--all", "-o", "github"},
			code:         1,
			want:         []string{"::error file=private,title=syntax::cannot be read: permission denied"},
		},
		{
			name:    "11 a bare repository with --ref",
			commits: []map[string]string{cmApp},
			setup: func(t *testing.T, dir string) string {
				bare := dir + ".git"
				gitCmd(t, filepath.Dir(dir), "clone", "-q", "--bare", dir, bare)
				return bare
			},
			args: []string{"render", "--all", "--ref", "main"},
			code: 0,
			want: []string{"# Source: app\n"},
		},
		{
			name:    "11 a bare repository without --ref",
			commits: []map[string]string{cmApp},
			setup: func(t *testing.T, dir string) string {
				bare := dir + ".git"
				gitCmd(t, filepath.Dir(dir), "clone", "-q", "--bare", dir, bare)
				return bare
			},
			args: []string{"render", "--all"},
			code: 2,
			want: []string{"is a bare Git repository: it has no working tree to read; pass --ref"},
		},
		{
			name:    "11 --ref past the first commit",
			commits: []map[string]string{cmApp},
			args:    []string{"render", "--all", "--ref", "HEAD~99"},
			code:    2,
			want:    []string{`error: revision "HEAD~99": the history is shorter than that (no such ancestor)`},
		},
		{
			name:    "11 a submodule under --ref",
			commits: []map[string]string{{"app/kustomization.yaml": kust("../vendor/app")}},
			setup: func(t *testing.T, dir string) string {
				sub := filepath.Join(filepath.Dir(dir), "sub")
				if err := os.MkdirAll(sub, 0o755); err != nil {
					t.Fatal(err)
				}
				gitCmd(t, sub, "init", "-q", "-b", "main")
				writeFiles(t, sub, cmApp)
				gitCmd(t, sub, "add", "-A")
				gitCmd(t, sub, "commit", "-q", "-m", "sub")
				gitCmd(t, dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "vendor")
				gitCmd(t, dir, "commit", "-q", "-m", "vendor")
				return ""
			},
			args: []string{"render", "app", "--ref", "HEAD"},
			code: 2,
			want: []string{`app/kustomization.yaml:2: resources entry "../vendor/app": vendor is a Git submodule`},
		},
		{
			name:    "11 UTF-16 is read as kustomize reads it",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": utf16(configMap("a", 1))})},
			args:    []string{"validate", "--all", "-o", "github"},
			code:    0,
			want:    []string{"::warning file=app/cm.yaml,line=1,title=syntax::file is UTF-16: kustomize and Flux read it"},
		},
		{
			name:    "11 a tab points at its own line",
			commits: []map[string]string{with(cmApp, map[string]string{"app/cm.yaml": configMap("a", 1) + "\tj: w\n"})},
			args:    []string{"render", "--all"},
			code:    2,
			want:    []string{"error: app: app/cm.yaml:7: malformed YAML: a tab character indents this line; YAML indents with spaces"},
		},
		{
			name:    "11 helmCharts in a kustomization",
			commits: []map[string]string{{"app/kustomization.yaml": "helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n  version: 6.7.0\n"}},
			args:    []string{"render", "--all"},
			code:    2,
			want:    []string{"error: app: app/kustomization.yaml:1: helmCharts: inflating Helm charts needs `kustomize build --enable-helm`, which kubectl gitops never runs"},
			check: func(t *testing.T, r probeRun) {
				if strings.Contains(r.stderr, "must specify --enable-helm") {
					t.Errorf("still tells to pass a flag this tool does not have:\n%s", r.stderr)
				}
			},
		},
		{
			name:    "11 ci comment --dry-run with validation errors",
			commits: []map[string]string{cmApp, with(cmApp, map[string]string{"app/cm.yaml": configMap("a", 1) + "  k0: duplicate\n"})},
			args:    []string{"ci", "comment", "--dry-run", "--base", "HEAD~1"},
			code:    1,
			want:    []string{"❌ **Validation**"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := hostileRepo(t, tt.commits...)
			runIn := dir
			if tt.setup != nil {
				if d := tt.setup(t, dir); d != "" {
					runIn = d
				}
			}
			before := snapshot(t, runIn)
			r := probe(t, runIn, probeOptions{unprivileged: tt.unprivileged}, tt.args...)
			output := r.stdout + r.stderr
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(output, w) {
					t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, r.stdout, r.stderr)
				}
			}
			if strings.Contains(output, "goroutine ") || strings.Contains(output, "panic:") {
				t.Errorf("a stack trace:\n%s", output)
			}
			if strings.Contains(output, probeCanary) {
				t.Errorf("the canary %s is in the output:\n%s", probeCanary, output)
			}
			if r.maxRSS > probeMaxRSS {
				t.Errorf("peak memory %d MB, bound %d MB", r.maxRSS>>20, probeMaxRSS>>20)
			}
			if diff := cmp.Diff(before, snapshot(t, runIn)); diff != "" {
				t.Errorf("the run changed the repository (-before +after):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			t.Logf("%v: exit %d in %v, peak %d MB", tt.args, r.code, r.elapsed.Round(time.Millisecond), r.maxRSS>>20)
		})
	}
}

// codeSpan matches a markdown code span of single backticks.
var codeSpan = regexp.MustCompile("`[^`]*`")

// noInjection fails when a line of the output starts what the injecting
// name tries to start: a GitHub workflow command, a markdown heading, a
// YAML document.
func noInjection(t *testing.T, r probeRun) {
	t.Helper()
	docs := 0
	for _, line := range strings.Split(r.stdout+r.stderr, "\n") {
		for _, bad := range []string{"::error file=x.yaml", "### 0 errors", "kind: Secret"} {
			if strings.HasPrefix(line, bad) {
				t.Errorf("a line starts with %q:\n%s", bad, line)
			}
		}
		if line == "---" {
			docs++
		}
	}
	if docs > 1 {
		t.Errorf("%d YAML documents where one root renders one object", docs)
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(p, 0o755) })
}

// utf16 encodes s as UTF-16 with a little-endian byte order mark.
func utf16(s string) string {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

// TestSecretsInEveryFormat plants the canary in Secrets a repository holds
// in every way a value can be written (plain, base64, not base64, beside
// SOPS values, through a generator, substituted by Flux) and changes each
// between two commits: no output format of validate, diff, the hook or
// the PR comment may show it.
func TestSecretsInEveryFormat(t *testing.T) {
	secret := func(n int) map[string]string {
		v := fmt.Sprintf("%s-%d", probeCanary, n)
		return map[string]string{
			"app/kustomization.yaml": kust("plain.yaml", "notb64.yaml", "sops.yaml", "cm.yaml") +
				"secretGenerator:\n- name: gen\n  literals:\n  - token=" + v + "\n",
			"app/cm.yaml":     configMap("a", 1),
			"app/plain.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\nstringData:\n  password: " + v + "\n",
			"app/notb64.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: notb64\ndata:\n  password: " + v + "!\n",
			"app/sops.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops\nstringData:\n  user: " + v +
				"\n  password: ENC[AES256_GCM,data:YWJj,iv:aXY=,tag:dGFn,type:str]\nsops:\n  version: 3.9.0\n",
		}
	}
	dir := hostileRepo(t, secret(1), secret(2))
	runs := [][]string{
		{"diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "text"},
		{"diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown"},
		{"diff", "--base", "HEAD~1", "--head", "HEAD", "-o", "json"},
		{"ci", "comment", "--dry-run", "--base", "HEAD~1"},
		{"hook", "gitops-validate", "app/plain.yaml", "app/notb64.yaml", "app/sops.yaml"},
	}
	for _, f := range []string{"text", "json", "sarif", "github"} {
		runs = append(runs, []string{"validate", "--all", "-o", f})
	}
	for _, args := range runs {
		r := probe(t, dir, probeOptions{}, args...)
		if r.code > 1 {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, probeCanary) {
			t.Errorf("%v shows the canary:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

// TestStaleCache changes a file the ways that keep its size and
// modification time, and damages the cache's records: a warm run must
// still print what the files hold.
func TestStaleCache(t *testing.T) {
	dir := hostileRepo(t, map[string]string{"app/kustomization.yaml": kust("cm.yaml"),
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: AAAA\n"})
	cacheDir := filepath.Join(worldDir(t), "cache")
	env := probeOptions{env: []string{"GITOPS_CACHE_DIR=" + cacheDir}}
	render := func(want string) {
		t.Helper()
		r := probe(t, dir, env, "render", "--all")
		if r.code != 0 || !strings.Contains(r.stdout, "k: "+want) {
			t.Fatalf("render: exit %d, want k: %s\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
	render("AAAA")
	render("AAAA") // from the cache

	// The same size and modification time, as `cp -p` leaves them.
	p := filepath.Join(dir, "app/cm.yaml")
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: BBBB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	render("BBBB")

	// Every record of the cache edited in place, its length kept.
	n := 0
	err = filepath.WalkDir(cacheDir, func(f string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "trimmed" {
			return err
		}
		data, err := os.ReadFile(f)
		if err != nil || len(data) < 40 {
			return err
		}
		data[len(data)/3] ^= 0x20
		n++
		return os.WriteFile(f, data, 0o644)
	})
	if err != nil || n == 0 {
		t.Fatalf("damaging %d cache entries: %v", n, err)
	}
	render("BBBB")
	r := probe(t, dir, env, "validate", "--all", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"findings": []`) {
		t.Errorf("validate on a damaged cache: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestInterrupt stops long runs with SIGINT (Ctrl-C under pre-commit) and
// SIGTERM (a CI job's end): each must end within a second with 130 or 143,
// and leave every cache entry whole.
func TestInterrupt(t *testing.T) {
	// Long enough to be interrupted: kustomize's quadratic map of many
	// documents, under raised limits.
	dir := hostileRepo(t, map[string]string{"app/kustomization.yaml": kust("cm.yaml"), "app/cm.yaml": manyDocuments(8000),
		"other/kustomization.yaml": kust("cm.yaml"), "other/cm.yaml": configMap("b", 1)})
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cacheDir := filepath.Join(worldDir(t), "cache")
			cmd := exec.Command(filepath.Join(binDir, "kubectl-gitops"), "render", "--all", "--max-documents", "100000")
			cmd.Dir = dir
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + worldDir(t), "GITOPS_CACHE_DIR=" + cacheDir}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 5 s after %v", tc.sig)
			}
			if took := time.Since(sent); took > time.Second {
				t.Errorf("stopped %v after %v, want within 1 s", took.Round(time.Millisecond), tc.sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), "interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", errOut.String())
			}
			for _, e := range cacheEntries(t, cacheDir) {
				if !e.whole {
					t.Errorf("cache entry %s is not whole", e.path)
				}
			}
		})
	}
}

type cacheEntry struct {
	path  string
	whole bool
}

// cacheEntries lists the entries in a cache directory and whether each
// ends with the digest of its content; files being written (.tmp-*) are
// not entries.
func cacheEntries(t *testing.T, dir string) []cacheEntry {
	t.Helper()
	var out []cacheEntry
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "trimmed" || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		data, err := os.ReadFile(p)
		whole := err == nil && len(data) >= sha256.Size
		if whole {
			sum := sha256.Sum256(data[:len(data)-sha256.Size])
			whole = bytes.Equal(sum[:], data[len(data)-sha256.Size:])
		}
		out = append(out, cacheEntry{p, whole})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

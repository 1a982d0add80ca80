package workspace

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-containerregistry/pkg/authn"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitwrite"
	"github.com/kubectl-gitops/kubectl-gitops/internal/images"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/validate"
)

// ImageQuery says which markers Images resolves, and how.
type ImageQuery struct {
	// Path is the repository-relative directory or file whose markers are
	// resolved; "." for all.
	Path string
	// Cluster, when set, are the ImagePolicies and ImageRepositories a
	// cluster holds, used instead of those the repository renders.
	Cluster []map[string]any
	// Registry are the registry client's options; the docker config's
	// keychain when it names none. The hosts of ImageRepositories that set
	// spec.insecure are added to its insecure registries.
	Registry registry.Options
}

// Images is what `images list` and `images update` share: the working
// tree, its markers, and what their policies select now.
type Images struct {
	Tree  repo.Tree
	Found images.Found
	// Resolution is each policy's latest image, or why there is none.
	Resolution map[markers.Policy]images.Resolution
	// Results are the renders of this repository's roots and of its
	// fluxRepositories; none with Cluster.
	Results []*render.Result
	// MissingFluxRepositories are the fluxRepositories not there, whose
	// ImagePolicies are not known.
	MissingFluxRepositories []string
}

// Images finds the markers under q.Path in the working tree and resolves
// their policies against the registries, with the policies the repository
// (and its fluxRepositories) render, or those of q.Cluster.
func (w *Workspace) Images(ctx context.Context, q ImageQuery) (*Images, error) {
	tree, err := w.Repo.Tree("")
	if err != nil {
		return nil, err
	}
	side, err := w.side(ctx, tree)
	if err != nil {
		return nil, err
	}
	eng, disc := side.Engine, side.Repository
	defer eng.Trim()
	var files []string
	for _, f := range disc.Files {
		if under(f, []string{q.Path}) {
			files = append(files, f)
		}
	}
	found, err := images.Scan(tree, files)
	if err != nil {
		return nil, err
	}
	out := &Images{Tree: tree, Found: found}
	objects := q.Cluster
	var unread []string
	if objects == nil {
		if out.Results, err = eng.Render(ctx, disc, disc.Roots); err != nil {
			return nil, err
		}
		unread = disc.Unread(out.Results)
		cfg, err := validate.LoadConfig(tree)
		if err != nil {
			return nil, err
		}
		foreign, missing, err := w.RenderForeign(ctx, cfg.FluxRepositories)
		if err != nil {
			return nil, err
		}
		out.Results, out.MissingFluxRepositories = append(out.Results, foreign...), missing
		if objects, err = imageObjects(out.Results); err != nil {
			return nil, err
		}
	}
	policies := images.Collect(objects)
	if placed, err := placeUnapplied(tree, unread, policies, found.Markers); err != nil {
		return nil, err
	} else if len(placed) > 0 {
		policies = images.Collect(append(objects, placed...))
	}
	opts := q.Registry
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	opts.InsecureRegistries = append(opts.InsecureRegistries, insecureRegistries(policies)...)
	out.Resolution = images.Resolve(ctx, registry.New(opts), policies, found.Markers)
	unrenderedPolicies(disc, out.Results, out.Resolution)
	return out, nil
}

// unrenderedPolicies says, of each ImagePolicy no root defines, that a root
// that does not render may define it, when one may: whether it exists is
// then not known (a remote base refused, most often), as validate's marker
// check has it.
func unrenderedPolicies(disc *render.Repository, results []*render.Result, res map[markers.Policy]images.Resolution) {
	for id, r := range res {
		if !errors.Is(r.Err, images.ErrNotDefined) {
			continue
		}
		if f := disc.FailedMaker(results, id.Name); f != nil {
			r.Err = fmt.Errorf("ImagePolicy %s/%s is not known: %s, which may define it, does not render: %w", id.Namespace, id.Name, f.Root, f.Err)
			res[id] = r
		}
	}
}

// imageObjects returns the Flux image objects the results render.
func imageObjects(results []*render.Result) ([]map[string]any, error) {
	var out []map[string]any
	for _, res := range results {
		if res.Err != nil {
			continue
		}
		objs, err := res.ObjectsOf(images.Group)
		if err != nil {
			return nil, err
		}
		for _, n := range objs {
			m, err := n.Map()
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// placeUnapplied returns, for each marker whose ImagePolicy no root
// renders, the image objects of a file no root applies (of unread) that
// defines that policy without a namespace, placed in the marker's
// namespace: another repository applies the file where it chooses, as
// d2-fleet applies d2-apps' update policies. Validate checks such markers
// against the same policies.
func placeUnapplied(tree repo.Tree, unread []string, policies map[markers.Policy]*images.Policy, ms []markers.Marker) ([]map[string]any, error) {
	wanted := map[string][]string{} // policy name -> the namespaces markers give it
	for _, m := range ms {
		if _, ok := policies[m.Policy]; !ok && !slices.Contains(wanted[m.Policy.Name], m.Policy.Namespace) {
			wanted[m.Policy.Name] = append(wanted[m.Policy.Name], m.Policy.Namespace)
		}
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	var out []map[string]any
	for _, nodes := range render.FileObjects(tree, unread, "ImagePolicy", images.Group) {
		var namespaces []string
		for _, n := range nodes {
			if n.GetKind() == "ImagePolicy" && n.GetNamespace() == "" {
				namespaces = append(namespaces, wanted[n.GetName()]...)
			}
		}
		for _, ns := range namespaces {
			for _, n := range nodes {
				m, err := n.Map()
				if err != nil {
					return nil, err
				}
				if n.GetNamespace() == "" {
					md, _ := m["metadata"].(map[string]any)
					md["namespace"] = ns
				}
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// insecureRegistries are the registry hosts of ImageRepositories that set
// spec.insecure.
func insecureRegistries(policies map[markers.Policy]*images.Policy) []string {
	var out []string
	for _, p := range policies {
		if p.Err == nil && p.Repository.Insecure {
			out = append(out, strings.SplitN(p.Repository.Image, "/", 2)[0])
		}
	}
	return out
}

// Automation returns the ImageUpdateAutomation whose update.path holds
// every updated file, if one does: its commit template and author are
// those of the update's commit.
func (im *Images) Automation(updates []images.FileUpdate) *kyaml.RNode {
	for _, res := range im.Results {
		if res.Err != nil {
			continue
		}
		objs, err := res.ObjectsOf(images.Group)
		if err != nil {
			continue
		}
		for _, n := range objs {
			if n.GetKind() != "ImageUpdateAutomation" {
				continue
			}
			p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(Field(n, "spec", "update", "path"))), "./")
			covers := true
			for _, u := range updates {
				covers = covers && (p == "." || p == "" || strings.HasPrefix(u.File, p+"/"))
			}
			if covers {
				return n
			}
		}
	}
	return nil
}

// Updates are the files the markers' rewrite changes, each with the
// markers changed in it, in file order.
func (im *Images) Updates() ([]images.FileUpdate, error) {
	return images.Plan(im.Tree, im.Found.Markers, im.Resolution)
}

// Files are updates as files to write or commit.
func Files(updates []images.FileUpdate) []publish.File {
	out := make([]publish.File, len(updates))
	for i, u := range updates {
		out[i] = publish.File{Path: u.File, Old: u.Old, New: u.New}
	}
	return out
}

// ImageCommit is the commit of updates as Flux's image automation makes
// it: the message the covering ImageUpdateAutomation's template renders
// (Flux's default without one), its author, a branch named after the
// change; with body, a pull request body showing the files' diffs, what
// the change renders to and its check.
func (w *Workspace) ImageCommit(ctx context.Context, im *Images, updates []images.FileUpdate, body bool) (publish.Change, error) {
	changes := map[string][]byte{}
	var fileDiffs []string
	result := gitwrite.Result{}
	for _, f := range Files(updates) {
		fileDiffs = append(fileDiffs, publish.FileDiff(f))
	}
	for _, u := range updates {
		changes[u.File] = u.New
		for _, c := range u.Changes {
			apiVersion, kind, ns, name := images.ObjectAt(u.Old, c.Line)
			id := gitwrite.ObjectIdentifier{ResourceIdentifier: kyaml.ResourceIdentifier{
				TypeMeta: kyaml.TypeMeta{APIVersion: apiVersion, Kind: kind}, NameMeta: kyaml.NameMeta{Name: name, Namespace: ns}}}
			result.AddChange(u.File, id, gitwrite.Change{OldValue: c.Old, NewValue: c.New, Setter: c.Setter()})
		}
	}
	spec := publish.Change{Changes: changes, Branch: gitwrite.ImagesBranch(changes)}
	data := gitwrite.TemplateData{Changed: result}
	var tmpl string
	if auto := im.Automation(updates); auto != nil {
		data.AutomationObject = gitwrite.NamespacedName{Namespace: auto.GetNamespace(), Name: auto.GetName()}
		tmpl = Field(auto, "spec", "git", "commit", "messageTemplate")
		if name := Field(auto, "spec", "git", "commit", "author", "name"); name != "" {
			spec.Author = &object.Signature{Name: name, Email: Field(auto, "spec", "git", "commit", "author", "email")}
		}
	}
	msg, err := gitwrite.RenderMessage(tmpl, data)
	if err != nil {
		return spec, err
	}
	spec.Message = msg
	spec.Title = strings.SplitN(strings.TrimSpace(msg), "\n", 2)[0]
	if body {
		head, err := w.Repo.Tree("HEAD")
		if err != nil {
			return spec, err
		}
		rendered, report, err := w.Change(ctx, head, changes)
		if err != nil {
			return spec, err
		}
		spec.Body = publish.Body("Image versions selected by the repository's ImagePolicies, as Flux's image automation would commit them.", fileDiffs, rendered, report)
	}
	return spec, nil
}

// Field returns the scalar at path in n; "" when there is none.
func Field(n *kyaml.RNode, path ...string) string {
	v, err := n.Pipe(kyaml.Lookup(path...))
	if err != nil || v == nil {
		return ""
	}
	return kyaml.GetValue(v)
}

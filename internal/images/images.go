// Package images does on the user's side what Flux's image automation does
// in the cluster: it finds the $imagepolicy markers of a repository, pairs
// each ImagePolicy with its ImageRepository, lists the repositories' tags
// from the registries, selects the latest tag with the controller's exact
// semantics, and plans the rewrite of the marked fields.
package images

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/imagepolicy"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/markers"
	"github.com/kubectl-gitops/kubectl-gitops/internal/registry"
	"github.com/kubectl-gitops/kubectl-gitops/internal/repo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/setters"
)

// Policy is an ImagePolicy with the ImageRepository it evaluates.
type Policy struct {
	ID         markers.Policy
	Spec       imagepolicy.Spec
	Repository imagepolicy.Repository
	// Err says why the policy cannot be evaluated: invalid, or its
	// ImageRepository missing or invalid.
	Err error
}

// Group is the API group of Flux's image automation.
const Group = "image.toolkit.fluxcd.io"

// Collect pairs the ImagePolicies among objects (rendered from the
// repository, from its Flux repository, or read from the cluster) with their
// ImageRepositories.
func Collect(objects []map[string]any) map[markers.Policy]*Policy {
	repos := map[string]imagepolicy.Repository{}
	repoErrs := map[string]error{}
	var policies []map[string]any
	for _, o := range objects {
		apiVersion, _ := o["apiVersion"].(string)
		if !strings.HasPrefix(apiVersion, Group+"/") {
			continue
		}
		switch o["kind"] {
		case "ImageRepository":
			id := namespace(o) + "/" + name(o)
			r, err := imagepolicy.RepositoryFromObject(o)
			repos[id], repoErrs[id] = r, err
		case "ImagePolicy":
			policies = append(policies, o)
		}
	}
	out := map[markers.Policy]*Policy{}
	for _, o := range policies {
		p := &Policy{ID: markers.Policy{Namespace: namespace(o), Name: name(o)}}
		out[p.ID] = p
		spec, err := imagepolicy.FromObject(o)
		if err != nil {
			p.Err = fmt.Errorf("ImagePolicy %s/%s: %w", p.ID.Namespace, p.ID.Name, err)
			continue
		}
		p.Spec = spec
		refNS := spec.ImageRepositoryRef.Namespace
		if refNS == "" {
			refNS = "default"
		}
		ref := refNS + "/" + spec.ImageRepositoryRef.Name
		r, ok := repos[ref]
		switch {
		case !ok:
			p.Err = fmt.Errorf("ImagePolicy %s/%s: its ImageRepository %s is not defined", p.ID.Namespace, p.ID.Name, ref)
		case repoErrs[ref] != nil:
			p.Err = fmt.Errorf("ImageRepository %s: %w", ref, repoErrs[ref])
		default:
			p.Repository = r
			p.Spec.ExclusionList = r.ExclusionList
		}
	}
	return out
}

func namespace(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	if ns == "" {
		return "default"
	}
	return ns
}

func name(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	n, _ := md["name"].(string)
	return n
}

// Found is the markers of a repository, and the files Flux's automation
// would skip as unreadable.
type Found struct {
	Markers   []markers.Marker
	Malformed []markers.Malformed
	// Unreadable are files with markers that Flux cannot parse.
	Unreadable []error
}

// Scan finds the markers of the files given (repository-relative), as the
// Setters strategy reads them.
func Scan(tree repo.Tree, files []string) (Found, error) {
	var f Found
	for _, file := range files {
		if markers.Skip(file) {
			continue
		}
		data, err := tree.ReadFile(file)
		if err != nil {
			return f, err
		}
		s, err := markers.Scan(file, data)
		if err != nil {
			f.Unreadable = append(f.Unreadable, err)
			continue
		}
		f.Markers = append(f.Markers, s.Markers...)
		f.Malformed = append(f.Malformed, s.Malformed...)
	}
	return f, nil
}

// ErrNotDefined is the error of a marker naming an ImagePolicy nothing
// defines.
var ErrNotDefined = errors.New("not defined")

// Resolution is what a policy selects now.
type Resolution struct {
	Latest setters.Latest
	// Err says why it could not be resolved: the policy, the registry, or
	// no tag matching.
	Err error
}

// Resolve lists the tags of the repositories of the policies the markers
// name (each repository once, concurrently as the client allows), selects
// the latest tag of each policy, and resolves its digest where a marker or
// the policy's digest reflection needs one.
func Resolve(ctx context.Context, client *registry.Client, policies map[markers.Policy]*Policy, ms []markers.Marker) map[markers.Policy]Resolution {
	wanted := map[markers.Policy]bool{}
	digest := map[markers.Policy]bool{}
	for _, m := range ms {
		wanted[m.Policy] = true
		if m.Field == markers.FieldDigest {
			digest[m.Policy] = true
		}
	}
	out := map[markers.Policy]Resolution{}
	var images []string
	seen := map[string]bool{}
	for id := range wanted {
		p, ok := policies[id]
		switch {
		case !ok:
			out[id] = Resolution{Err: fmt.Errorf("ImagePolicy %s/%s is %w", id.Namespace, id.Name, ErrNotDefined)}
		case p.Err != nil:
			out[id] = Resolution{Err: p.Err}
		case !seen[p.Repository.Image]:
			seen[p.Repository.Image] = true
			images = append(images, p.Repository.Image)
		}
		if ok && p.Err == nil && (p.Spec.DigestReflectionPolicy == "Always" || p.Spec.DigestReflectionPolicy == "IfNotPresent") {
			digest[id] = true
		}
	}
	sort.Strings(images)
	tags := client.ListTags(ctx, images)
	var refs []string
	for id := range wanted {
		if _, done := out[id]; done {
			continue
		}
		p := policies[id]
		listed := tags[p.Repository.Image]
		if listed.Err != nil {
			out[id] = Resolution{Err: listed.Err}
			continue
		}
		sel, err := imagepolicy.Select(p.Spec, listed.Tags)
		if err != nil {
			out[id] = Resolution{Err: fmt.Errorf("ImagePolicy %s/%s: %w", id.Namespace, id.Name, err)}
			continue
		}
		out[id] = Resolution{Latest: setters.Latest{Name: p.Repository.Image, Tag: sel.Tag}}
		if digest[id] {
			refs = append(refs, p.Repository.Image+":"+sel.Tag)
		}
	}
	if len(refs) > 0 {
		digests := client.Digests(ctx, refs)
		for id, r := range out {
			if r.Err != nil || !digest[id] {
				continue
			}
			d := digests[r.Latest.Name+":"+r.Latest.Tag]
			if d.Err != nil {
				out[id] = Resolution{Err: d.Err}
				continue
			}
			r.Latest.Digest = d.Digest
			out[id] = r
		}
	}
	return out
}

// FileUpdate is the new content of one file.
type FileUpdate struct {
	File    string
	Old     []byte
	New     []byte
	Changes []setters.Change
}

// Plan computes the rewrite of every file with markers whose policy
// resolved to a value different from the current one. Markers of policies
// that did not resolve are left as they are.
func Plan(tree repo.Tree, ms []markers.Marker, res map[markers.Policy]Resolution) ([]FileUpdate, error) {
	values := map[markers.Policy]setters.Latest{}
	for id, r := range res {
		if r.Err == nil {
			if err := r.Latest.Validate(); err != nil {
				return nil, fmt.Errorf("ImagePolicy %s/%s selected %s: %w", id.Namespace, id.Name, r.Latest.Ref(), err)
			}
			values[id] = r.Latest
		}
	}
	byFile := map[string][]markers.Marker{}
	var files []string
	for _, m := range ms {
		if _, ok := byFile[m.File]; !ok {
			files = append(files, m.File)
		}
		byFile[m.File] = append(byFile[m.File], m)
	}
	sort.Strings(files)
	var out []FileUpdate
	for _, f := range files {
		data, err := tree.ReadFile(f)
		if err != nil {
			return nil, err
		}
		updated, changes, err := setters.Apply(data, byFile[f], values)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if len(changes) > 0 {
			out = append(out, FileUpdate{File: f, Old: data, New: updated, Changes: changes})
		}
	}
	return out, nil
}

// ObjectAt names the object whose document holds line in a YAML file:
// apiVersion, kind, namespace and name, as Flux's commit template data
// identifies the objects it changed.
func ObjectAt(data []byte, line int) (apiVersion, kind, namespace, name string) {
	var doc *manifest.Doc
	for _, d := range manifest.Split(data) {
		if d.Line <= line {
			dd := d
			doc = &dd
		}
	}
	if doc == nil {
		return "", "", "", ""
	}
	o, err := manifest.Decode("", *doc)
	if err != nil {
		return "", "", "", ""
	}
	return o.APIVersion, o.Kind, o.Namespace, o.Name
}

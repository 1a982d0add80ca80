// Package promote carries the image versions of one kustomize overlay into
// another: the engine of `kubectl gitops promote --from DIR --to DIR`. It is
// a pure library: Plan takes the two overlays' files as bytes and returns the
// new bytes of the target files that change, and the list of changes; the
// caller reads and writes the files.
//
// What is carried, and where to:
//
//   - A version is a tag and a digest. For a kustomize images entry it is
//     the entry's version keys, newTag, digest and tagSuffix, which select
//     the version as one unit (Flux: "NewTag and Digest both select the
//     image version, so they are updated as a single unit"). A promoted
//     target entry holds exactly the version keys its source entry sets,
//     with the source's values: setting digest alone removes the target's
//     newTag, setting newTag alone removes its digest. An empty or null
//     value is unset, as kustomize reads it; a target key that is already
//     unset is left alone.
//   - newName is never carried: the target keeps its own registry mapping
//     (or its lack of one). The exception is an image the target has no
//     entry for: the source's entry is added whole (name, newName and the
//     version keys), at the end of the target's images list, without the
//     source's markers.
//   - images entries are matched by their kustomize name, exactly as
//     written; every target entry of a source entry's name is promoted (a
//     source listing a name twice is an error).
//   - Fields carrying a $imagepolicy marker outside the source's images list
//     (in the kustomization or in the other YAML files given, such as a
//     Deployment patch's image field) are carried by policy: the markers of
//     one policy give one version (the tag and digest of a whole reference,
//     or the values of ":tag" and ":digest" markers; ":name" markers are a
//     registry mapping and carry nothing), and markers of one policy that
//     disagree are an error. In the target, the version goes to the fields
//     with a marker of the same policy (namespace:name) when the target has
//     any; otherwise to the fields that name the same image repository
//     (compared as Docker normalizes names: "nginx" is
//     "index.docker.io/library/nginx"): images entries whose newName (or,
//     without one, name) is that repository, and whole image references
//     written at an `image:` key or at a marker without suffix. A whole
//     reference keeps its own name and gets the version (name:tag,
//     name@digest or name:tag@digest); a ":tag" marker gets the tag (and is
//     left alone when the version is a digest alone); a ":digest" marker gets
//     the digest, empty when the version has none, as Flux writes it; a
//     ":name" marker is never changed; an images entry gets newTag and
//     digest as above. Target entries promoted by a source entry of the same
//     name are not touched by policies.
//   - Images that Helm values set are carried by where they are set: a
//     HelmRelease document's spec.values in an overlay file, or a values
//     file the kustomization's configMapGenerator makes into a ConfigMap
//     (the valuesFrom of Flux's helm example). An image there is a mapping
//     with a tag or a digest whose key names an image (image, or a key
//     ending in image or Image) or that has a repository, as Renovate's
//     helm-values manager finds them, or a whole reference at an image:
//     key. Its version goes to the target's image of the same HelmRelease
//     (name, and namespace when both write one) or ConfigMap and key, at
//     the same path: the tag to its tag, the digest to its digest (emptied
//     when the source has none, so an old digest does not pin the old
//     image), the whole version to a whole reference, which keeps its own
//     name. A target without that image, tag or digest is a Skip: Plan
//     does not add values. Images whose fields carry markers are carried
//     by policy instead.
//   - Only the bytes of changed scalars change: comments, key order,
//     indentation, CRLF line ends and quoting style are kept, a marker
//     comment on a changed value stays. A plain value that would not read
//     back as a string (a tag such as 1.10) is double-quoted. Removing a key
//     removes its line(s) and only them, with a marker comment on them (the
//     Change names the marker). A key added to an entry goes on a line of its
//     own below the key that precedes it in kustomize's order (name, newName,
//     tagSuffix, newTag, digest) or in place of a removed version key. A new
//     entry follows the list's indentation and its last entry's key order;
//     a missing images field is added at the end of the kustomization with
//     the indentation of its other lists and its line ends.
//
// Plan leaves out, and reports as Skipped, what it cannot carry: a source
// entry that sets no version, a policy no target field matches. Problems
// with the files are *diag.Errors naming the file and line.
package promote

import (
	"errors"
)

// File is one file of an overlay: its path (slash-separated, relative to
// the repository root, as it is to appear in messages) and its content.
type File struct {
	Path string
	Data []byte
}

// Overlay is what Plan reads of an overlay directory.
type Overlay struct {
	// Kustomization is the directory's kustomization file
	// (kustomization.yaml, kustomization.yml or Kustomization).
	Kustomization File
	// Files are other YAML files of the directory. In the source, the
	// fields carrying a $imagepolicy marker are read; in the target, those
	// and the values of image: keys are the fields versions are carried to.
	Files []File
}

// Action says what a Change does to a field.
type Action string

// The actions of a Change.
const (
	// Set changes the value of a field.
	Set Action = "set"
	// Add adds a field (and, for a new images entry, the entry).
	Add Action = "add"
	// Remove removes a field and its line.
	Remove Action = "remove"
)

// Change is one field of the target that Plan changed.
type Change struct {
	// File is the target file's path.
	File string
	// Line is the field's line in the new content; for a removed field,
	// the line now at its place.
	Line int
	// Image is what the version belongs to: the kustomize image name of an
	// images entry, or the image repository (else the policy) of markers.
	Image string
	// Field is the images entry key (name, newName, newTag, digest,
	// tagSuffix), or the path of a field in another file
	// ("spec.template.spec.containers[0].image").
	Field  string
	Action Action
	// Old and New are the field's values before and after; Old is empty
	// for an added field and New for a removed one.
	Old, New string
	// Marker is the setter of the $imagepolicy marker on the field
	// ("ns:policy:tag"): kept on a changed field, removed with a removed
	// one.
	Marker string
}

// Skip is something of the source that Plan did not carry, and why.
type Skip struct {
	File  string
	Line  int
	Image string
	// Reason says why, in a sentence a user can act on.
	Reason string
}

// Result is what a promotion changes in the target overlay.
type Result struct {
	// Files holds the new content of each target file that changes, by
	// path. It is empty when the target already has the source's versions.
	Files map[string][]byte
	// Changes lists the changed fields, by file and line.
	Changes []Change
	// Skipped lists what was not carried.
	Skipped []Skip
}

// ErrUnknownImage is wrapped by Plan's error when an image asked for is
// not in the source overlay.
var ErrUnknownImage = errors.New("the source overlay has no such image")

// ErrCannotRewrite is wrapped by Plan's errors for a target field it
// cannot rewrite in place.
var ErrCannotRewrite = errors.New("cannot rewrite the target")

// Plan computes the promotion of the image versions of overlay from into
// overlay to: of every image, or of the images named (by kustomize image
// name, image repository, or marker policy "namespace:name"). See the
// package documentation for what is carried where.
func Plan(from, to Overlay, images []string) (Result, error) {
	src, err := readKustomization(from.Kustomization)
	if err != nil {
		return Result{}, err
	}
	dst, err := readKustomization(to.Kustomization)
	if err != nil {
		return Result{}, err
	}
	s, err := readSource(src, from.Files)
	if err != nil {
		return Result{}, err
	}
	if err := s.filter(images); err != nil {
		return Result{}, err
	}
	p := newPlanner(dst, to.Files)
	p.skips = append(p.skips, s.skips...)
	if err := p.plan(s); err != nil {
		return Result{}, err
	}
	return p.build()
}

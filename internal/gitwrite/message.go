package gitwrite

import (
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// DefaultMessage is the commit message of Flux's image-automation-controller
// when an ImageUpdateAutomation sets no messageTemplate.
const DefaultMessage = "Update from image update automation"

// removedFieldDocs is where Flux's errors for removed template fields point.
const removedFieldDocs = "https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template"

// NamespacedName names an object; in a template it prints as
// namespace/name, as Kubernetes' types.NamespacedName does.
type NamespacedName struct {
	Namespace string
	Name      string
}

// String returns namespace/name.
func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }

// ObjectIdentifier identifies an object in a file, with the fields
// .APIVersion, .Kind, .Name and .Namespace in a template (a
// kustomization.yaml has no name).
type ObjectIdentifier struct {
	yaml.ResourceIdentifier
}

// Object returns the identifier of the object of the given apiVersion, kind,
// namespace and name.
func Object(apiVersion, kind, namespace, name string) ObjectIdentifier {
	return ObjectIdentifier{yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: apiVersion, Kind: kind},
		NameMeta: yaml.NameMeta{Namespace: namespace, Name: name},
	}}
}

// Change is one field rewritten by a setter (an $imagepolicy marker): its
// value before and after, and the setter's name (namespace:policy or
// namespace:policy:tag|name).
type Change struct {
	OldValue string
	NewValue string
	Setter   string
}

// ObjectChanges holds the changes made to each object.
type ObjectChanges map[ObjectIdentifier][]Change

// Result is the template's .Changed: file -> object -> changes, with the
// projections .Changed.Objects and .Changed.Changes.
type Result struct {
	FileChanges map[string]ObjectChanges
}

// AddChange records changes to object in file.
func (r *Result) AddChange(file string, object ObjectIdentifier, changes ...Change) {
	if r.FileChanges == nil {
		r.FileChanges = map[string]ObjectChanges{}
	}
	if r.FileChanges[file] == nil {
		r.FileChanges[file] = ObjectChanges{}
	}
	r.FileChanges[file][object] = append(r.FileChanges[file][object], changes...)
}

// Changes returns every distinct change once. Flux leaves the order to map
// iteration; here it is by file, then object, then order of the changes.
func (r Result) Changes() []Change {
	seen := map[Change]bool{}
	var out []Change
	for _, file := range sortedKeys(r.FileChanges) {
		objs := r.FileChanges[file]
		for _, obj := range sortedObjects(objs) {
			for _, c := range objs[obj] {
				if !seen[c] {
					seen[c] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// Objects returns the changes of each object, whichever files they are in.
func (r Result) Objects() ObjectChanges {
	out := ObjectChanges{}
	for _, file := range sortedKeys(r.FileChanges) {
		for obj, changes := range r.FileChanges[file] {
			out[obj] = append(out[obj], changes...)
		}
	}
	return out
}

// TemplateData is the value a messageTemplate is executed with: the data
// image-automation-controller gives it.
type TemplateData struct {
	// AutomationObject is the ImageUpdateAutomation's namespace and name.
	AutomationObject NamespacedName
	// Changed holds the changes made.
	Changed Result
	// Values are the automation's spec.git.commit.messageTemplateValues.
	Values map[string]string
	// Updated, when not nil, serves the .Updated field (and
	// .Changed.ImageResult) of API versions v1beta1 and v1beta2, which
	// controllers from v1.1 on refuse. Leave it nil for an
	// image.toolkit.fluxcd.io/v1 automation: a template using .Updated then
	// fails with Flux's own RemovedTemplateFieldError message.
	Updated *LegacyResult
}

// LegacyResult is the deprecated .Updated: file -> object -> images, with
// the projections .Updated.Objects and .Updated.Images.
type LegacyResult struct {
	Files map[string]FileResult
}

// FileResult holds the images updated in each object of one file.
type FileResult struct {
	Objects map[ObjectIdentifier][]ImageRef
}

// AddImage records that object in file now uses image.
func (r *LegacyResult) AddImage(file string, object ObjectIdentifier, image ImageRef) {
	if r.Files == nil {
		r.Files = map[string]FileResult{}
	}
	f, ok := r.Files[file]
	if !ok {
		f = FileResult{Objects: map[ObjectIdentifier][]ImageRef{}}
		r.Files[file] = f
	}
	f.Objects[object] = append(f.Objects[object], image)
}

// Images returns every distinct image once, by file and object.
func (r LegacyResult) Images() []ImageRef {
	seen := map[ImageRef]bool{}
	var out []ImageRef
	for _, file := range sortedKeys(r.Files) {
		objs := r.Files[file].Objects
		for _, obj := range sortedObjects(objs) {
			for _, ref := range objs[obj] {
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
			}
		}
	}
	return out
}

// Objects returns the images of each object, whichever files they are in.
func (r LegacyResult) Objects() map[ObjectIdentifier][]ImageRef {
	out := map[ObjectIdentifier][]ImageRef{}
	for _, file := range sortedKeys(r.Files) {
		for obj, refs := range r.Files[file].Objects {
			out[obj] = append(out[obj], refs...)
		}
	}
	return out
}

// ImageRef is an image as written by an update, with the policy that chose
// it. In a template it prints as the reference written, and has the methods
// of Flux's update.ImageRef.
type ImageRef struct {
	// Ref is the reference as written, such as helloworld:v1.0.1.
	Ref string
	// PolicyName is the ImagePolicy that chose it.
	PolicyName NamespacedName
}

// String returns the reference as written.
func (i ImageRef) String() string { return i.Ref }

// Identifier returns the tag or digest.
func (i ImageRef) Identifier() string {
	if r, err := name.ParseReference(i.Ref); err == nil {
		return r.Identifier()
	}
	return ""
}

// Repository returns the repository, defaults implied: library/helloworld.
func (i ImageRef) Repository() string {
	if r, err := name.ParseReference(i.Ref); err == nil {
		return r.Context().RepositoryStr()
	}
	return ""
}

// Registry returns the registry, defaults implied: index.docker.io.
func (i ImageRef) Registry() string {
	if r, err := name.ParseReference(i.Ref); err == nil {
		return r.Context().Registry.String()
	}
	return ""
}

// Name returns the fully qualified reference:
// index.docker.io/library/helloworld:v1.0.1.
func (i ImageRef) Name() string {
	if r, err := name.ParseReference(i.Ref); err == nil {
		return r.Name()
	}
	return i.Ref
}

// Policy returns the ImagePolicy that chose the image.
func (i ImageRef) Policy() NamespacedName { return i.PolicyName }

// currentData is what a v1 automation's template sees: no .Updated, and no
// .Changed.ImageResult.
type currentData struct {
	AutomationObject NamespacedName
	Changed          Result
	Values           map[string]string
}

// legacyData is what a v1beta1/v1beta2 automation's template saw.
type legacyData struct {
	AutomationObject NamespacedName
	Updated          LegacyResult
	Changed          legacyChanged
	Values           map[string]string
}

// legacyChanged is v1beta2's .Changed, with .ImageResult.
type legacyChanged struct {
	ImageResult LegacyResult
	FileChanges map[string]ObjectChanges
}

// Changes returns every distinct change once.
func (c legacyChanged) Changes() []Change { return Result{FileChanges: c.FileChanges}.Changes() }

// Objects returns the changes of each object.
func (c legacyChanged) Objects() ObjectChanges { return Result{FileChanges: c.FileChanges}.Objects() }

// RemovedTemplateFieldError is the error of a template that uses a field
// Flux removed (.Updated, .Changed.ImageResult); its text is Flux's.
type RemovedTemplateFieldError struct {
	Field string
}

// Error returns Flux's message for the removed field.
func (e *RemovedTemplateFieldError) Error() string {
	switch e.Field {
	case ".Updated":
		return "template uses removed '.Updated' field. Please use '.Changed' instead. See: " + removedFieldDocs
	case ".Changed.ImageResult":
		return "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. See: " + removedFieldDocs
	default:
		return fmt.Sprintf("template uses removed '%s' field. See: %s", e.Field, removedFieldDocs)
	}
}

// RenderMessage renders a messageTemplate as image-automation-controller
// does: a Go text/template with sprig's hermetic functions (none that
// depend on the time, the environment or chance), executed with data. An
// empty template gives DefaultMessage.
func RenderMessage(tmpl string, data TemplateData) (string, error) {
	if tmpl == "" {
		tmpl = DefaultMessage
	}
	t, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("unable to create commit message template from spec: %w", err)
	}
	var view any = currentData{AutomationObject: data.AutomationObject, Changed: data.Changed, Values: data.Values}
	if data.Updated != nil {
		view = legacyData{
			AutomationObject: data.AutomationObject,
			Updated:          *data.Updated,
			Changed:          legacyChanged{ImageResult: *data.Updated, FileChanges: data.Changed.FileChanges},
			Values:           data.Values,
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, view); err != nil {
		// As Flux does, tell a removed field by the executor's message.
		switch msg := err.Error(); {
		case strings.Contains(msg, "can't evaluate field Updated in type"):
			return "", &RemovedTemplateFieldError{Field: ".Updated"}
		case strings.Contains(msg, "can't evaluate field ImageResult in type"):
			return "", &RemovedTemplateFieldError{Field: ".Changed.ImageResult"}
		}
		return "", fmt.Errorf("failed to run template from spec: %w", err)
	}
	return b.String(), nil
}

// sortedKeys returns a map's string keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortedObjects returns a map's object keys ordered by kind, namespace, name.
func sortedObjects[V any](m map[ObjectIdentifier]V) []ObjectIdentifier {
	keys := make([]ObjectIdentifier, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.APIVersion != b.APIVersion {
			return a.APIVersion < b.APIVersion
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return keys
}

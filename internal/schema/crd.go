package schema

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// crdInfo is one CRD, as AddCRD took it.
type crdInfo struct {
	crd        *apiextensionsv1.CustomResourceDefinition
	groupKind  schema.GroupKind
	namespaced bool
}

// crd returns the CRD of gk that v knows, an embedded Flux one decoded
// the first time it is asked for. v.mu is held.
func (v *Validator) crd(gk schema.GroupKind) (*crdInfo, bool) {
	if info, ok := v.crds[gk]; ok {
		return info, true
	}
	if decode, ok := v.flux[gk]; ok {
		// TestFluxCRDsAreValid decodes and checks every embedded CRD.
		info, err := decode()
		return info, err == nil
	}
	return nil, false
}

// served reports whether the CRD serves version.
func (c *crdInfo) served(version string) bool {
	for _, ver := range c.crd.Spec.Versions {
		if ver.Name == version {
			return ver.Served
		}
	}
	return false
}

// AddCRD adds an apiextensions.k8s.io/v1 CustomResourceDefinition, as
// decoded from a repository's YAML, so that objects of its kind are
// checked against it. A CRD for a group and kind that v already knows
// (a Flux kind, or an earlier AddCRD) replaces it. The CRD is checked as
// the API server checks it on create, and an invalid one is an error.
func (v *Validator) AddCRD(crd map[string]any) error {
	info, err := parseCRD(crd, true)
	if err != nil {
		return err
	}
	v.putCRD(info)
	return nil
}

// putCRD installs info and forgets what was compiled for its group and
// kind.
func (v *Validator) putCRD(info *crdInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.crds[info.groupKind] = info
	delete(v.flux, info.groupKind)
	for gvk := range v.kinds {
		if gvk.GroupKind() == info.groupKind {
			delete(v.kinds, gvk)
		}
	}
}

// parseCRD decodes a CRD and, when check is set, validates it as the API
// server does on create.
func parseCRD(obj map[string]any, check bool) (*crdInfo, error) {
	if obj["apiVersion"] != "apiextensions.k8s.io/v1" || obj["kind"] != "CustomResourceDefinition" {
		return nil, fmt.Errorf("not an apiextensions.k8s.io/v1 CustomResourceDefinition: apiVersion %v, kind %v", obj["apiVersion"], obj["kind"])
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding CRD: %w", err)
	}
	return decodeCRD(raw, nameOf(obj), check)
}

// decodeCRD is parseCRD of the JSON of the CRD named name.
func decodeCRD(raw []byte, name string, check bool) (*crdInfo, error) {
	crd := new(apiextensionsv1.CustomResourceDefinition)
	if err := json.Unmarshal(raw, crd); err != nil {
		return nil, fmt.Errorf("decoding CRD %s: %w", name, err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
	if check {
		if err := checkCRD(crd); err != nil {
			return nil, err
		}
	}
	if crd.Spec.Group == "" || crd.Spec.Names.Kind == "" {
		return nil, fmt.Errorf("CRD %s: spec.group and spec.names.kind are required", crd.Name)
	}
	return &crdInfo{
		crd:        crd,
		groupKind:  schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind},
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
	}, nil
}

func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

// checkCRD runs the API server's create-time validation of a CRD.
func checkCRD(crd *apiextensionsv1.CustomResourceDefinition) error {
	internal := new(apiextensions.CustomResourceDefinition)
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		return fmt.Errorf("converting CRD %s: %w", crd.Name, err)
	}
	// The status is the server's; a CRD in a repository has none, and the
	// server would set storedVersions itself.
	internal.Status = apiextensions.CustomResourceDefinitionStatus{}
	for _, ver := range internal.Spec.Versions {
		if ver.Storage {
			internal.Status.StoredVersions = []string{ver.Name}
		}
	}
	if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
		return fmt.Errorf("invalid CRD %s: %w", crd.Name, errs.ToAggregate())
	}
	return nil
}

// compile builds the validator of one served version, as the API server's
// CRD handler does.
func (c *crdInfo) compile(version string, formats strfmt.Registry) (*compiled, error) {
	val, err := apihelpers.GetSchemaForVersion(c.crd, version)
	if err != nil {
		return nil, fmt.Errorf("CRD %s version %s: %w", c.crd.Name, version, err)
	}
	if val == nil || val.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("CRD %s version %s has no schema", c.crd.Name, version)
	}
	internal := new(apiextensions.CustomResourceValidation)
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema of CRD %s version %s: %w", c.crd.Name, version, err)
	}
	ss, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("CRD %s version %s: the schema is not structural: %w", c.crd.Name, version, err)
	}
	ss = ss.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(ss); err != nil {
		return nil, fmt.Errorf("CRD %s version %s: %w", c.crd.Name, version, err)
	}
	openAPI := new(spec.Schema)
	strip := apiservervalidation.StripUnsupportedFormatsPostProcessorForVersion(environment.DefaultCompatibilityVersion())
	if err := apiservervalidation.ConvertJSONSchemaPropsWithPostProcess(internal.OpenAPIV3Schema, openAPI, strip); err != nil {
		return nil, fmt.Errorf("converting the schema of CRD %s version %s: %w", c.crd.Name, version, err)
	}
	root := structuralNode(ss)
	root.embedded = true // the resource root: apiVersion, kind, metadata
	return &compiled{
		schema:  func() (*spec.Schema, error) { return openAPI, nil },
		root:    root,
		fast:    newFastNode(openAPI, formats),
		formats: formats,
		crd: &crdSchema{
			structural:  ss,
			cel:         cel.NewValidator(ss, true, celconfig.PerCallLimit),
			hasDefaults: hasDefaults(ss),
		},
	}, nil
}

// hasDefaults reports whether any node of s has a default.
func hasDefaults(s *structuralschema.Structural) bool {
	if s == nil {
		return false
	}
	if s.Default.Object != nil {
		return true
	}
	for k := range s.Properties {
		p := s.Properties[k]
		if hasDefaults(&p) {
			return true
		}
	}
	if s.AdditionalProperties != nil && hasDefaults(s.AdditionalProperties.Structural) {
		return true
	}
	return hasDefaults(s.Items)
}

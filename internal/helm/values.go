package helm

import (
	"fmt"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// Values merges a HelmRelease's values as helm-controller does
// (fluxcd/pkg/chartutil.ChartValuesFromReferences): each valuesFrom
// reference without a targetPath merged in order, then spec.values over
// them, then each reference with a targetPath set at its path, over all.
// A missing object or key is skipped when the reference is optional; a
// required object the repository does not render, or encrypts with SOPS,
// leaves the release *Unchecked.
func Values(hr *helmv2.HelmRelease, src Sources) (map[string]any, error) {
	result := map[string]any{}
	type pathValue struct {
		ref  string
		path string
		data string
		lit  bool
	}
	var paths []pathValue
	for _, ref := range hr.Spec.ValuesFrom {
		id := fmt.Sprintf("%s %s/%s", ref.Kind, hr.Namespace, ref.Name)
		if ref.Kind != "ConfigMap" && ref.Kind != "Secret" {
			return nil, fmt.Errorf("valuesFrom: %s: unsupported kind %q", id, ref.Kind)
		}
		data, encrypted, ok := src.Data(ref.Kind, hr.Namespace, ref.Name)
		switch {
		case !ok && ref.Optional:
			continue
		case !ok:
			return nil, &Unchecked{Reason: fmt.Sprintf("valuesFrom: %s is not rendered by this repository (made in the cluster?)", id)}
		case encrypted:
			return nil, &Unchecked{Reason: fmt.Sprintf("valuesFrom: %s is encrypted with SOPS: its values are known only in the cluster", id)}
		}
		key := ref.GetValuesKey()
		v, ok := data[key]
		if !ok {
			if ref.Optional {
				continue
			}
			return nil, fmt.Errorf("valuesFrom: %s has no key %q", id, key)
		}
		if ref.TargetPath != "" {
			paths = append(paths, pathValue{ref: id, path: ref.TargetPath, data: v, lit: ref.Literal})
			continue
		}
		vals, err := common.ReadValues([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("valuesFrom: %s key %q is not YAML values: %w", id, key, err)
		}
		result = loader.MergeMaps(result, vals)
	}
	if hr.Spec.Values != nil {
		var vals map[string]any
		if err := yaml.Unmarshal(hr.Spec.Values.Raw, &vals); err != nil {
			return nil, fmt.Errorf("spec.values: %w", err)
		}
		result = loader.MergeMaps(result, vals)
	}
	if len(paths) == 0 {
		return result, nil
	}
	result = deepCopy(result).(map[string]any)
	for _, p := range paths {
		var err error
		if p.lit {
			err = setLiteral(result, p.path, p.data)
		} else {
			err = setPath(result, p.path, p.data)
		}
		if err != nil {
			return nil, fmt.Errorf("valuesFrom: %s targetPath %q: %w", p.ref, p.path, err)
		}
	}
	return result, nil
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// setPath sets value at path as `helm --set` would; a quoted value is set
// as a string.
func setPath(values map[string]any, path, value string) error {
	quoted := (strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`) || strings.HasPrefix(value, `'`) && strings.HasSuffix(value, `'`))
	if quoted {
		return strvals.ParseIntoString(path+"="+strings.Trim(value, `'"`), values)
	}
	return strvals.ParseInto(path+"="+value, values)
}

// setLiteral sets value at path verbatim, as `helm --set-literal` would,
// keeping `\.` escapes in the path.
func setLiteral(values map[string]any, path, value string) error {
	escape := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `[`, `\[`, `]`, `\]`, `{`, `\{`, `}`, `\}`)
	return strvals.ParseIntoString(path+"="+escape.Replace(value), values)
}

package imagepolicy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// decode turns a YAML manifest into the map an unstructured object holds.
func decode(t *testing.T, manifest string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatalf("decoding test manifest: %v", err)
	}
	return obj
}

func TestFromObject(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		want     Spec
		errHas   []string // empty: no error
	}{
		{
			name: "v1 numerical with filter",
			manifest: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: sock-shop-front-end, namespace: sock-shop}
spec:
  imageRepositoryRef: {name: sock-shop-front-end}
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<buildnumber>.*)'
    extract: '$buildnumber'
  policy:
    numerical: {order: asc}
`,
			want: Spec{
				ImageRepositoryRef:     ObjectRef{Name: "sock-shop-front-end", Namespace: "sock-shop"},
				Policy:                 Policy{Numerical: &NumericalPolicy{Order: "asc"}},
				FilterTags:             &FilterTags{Pattern: "^main-[a-fA-F0-9]+-(?P<buildnumber>.*)", Extract: "$buildnumber"},
				DigestReflectionPolicy: "Never",
			},
		},
		{
			name: "v1beta2 semver, reference to another namespace, digest always",
			manifest: `
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: podinfo, namespace: apps}
spec:
  imageRepositoryRef: {name: podinfo, namespace: flux-system}
  digestReflectionPolicy: Always
  interval: 1h30m
  suspend: true
  policy:
    semver: {range: 5.1.x}
`,
			want: Spec{
				ImageRepositoryRef:     ObjectRef{Name: "podinfo", Namespace: "flux-system"},
				Policy:                 Policy{Semver: &SemverPolicy{Range: "5.1.x"}},
				DigestReflectionPolicy: "Always",
				Interval:               90 * time.Minute,
				Suspend:                true,
			},
		},
		{
			name: "v1beta1 alphabetical, order defaulted, no namespace anywhere",
			manifest: `
apiVersion: image.toolkit.fluxcd.io/v1beta1
kind: ImagePolicy
metadata: {name: app}
spec:
  imageRepositoryRef: {name: app}
  policy:
    alphabetical: {}
`,
			want: Spec{
				ImageRepositoryRef:     ObjectRef{Name: "app"},
				Policy:                 Policy{Alphabetical: &AlphabeticalPolicy{Order: "asc"}},
				DigestReflectionPolicy: "Never",
			},
		},
		{
			name: "empty policy is read, for Validate to reject",
			manifest: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
spec: {imageRepositoryRef: {name: app}, policy: {}}
`,
			want: Spec{ImageRepositoryRef: ObjectRef{Name: "app"}, DigestReflectionPolicy: "Never"},
		},
		{
			name:     "wrong kind",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {}",
			errHas:   []string{`kind is "ImageRepository", want ImagePolicy`},
		},
		{
			name:     "unknown version",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1alpha1\nkind: ImagePolicy\nspec: {}",
			errHas:   []string{`apiVersion "image.toolkit.fluxcd.io/v1alpha1"`, "v1beta1, v1beta2, v1"},
		},
		{
			name:     "no spec",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy",
			errHas:   []string{"spec is required"},
		},
		{
			name:     "no repository reference",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {policy: {semver: {range: '*'}}}",
			errHas:   []string{"spec.imageRepositoryRef is required"},
		},
		{
			name:     "reference without name",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {namespace: x}, policy: {semver: {range: '*'}}}",
			errHas:   []string{"spec.imageRepositoryRef.name is required"},
		},
		{
			name:     "no policy",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}}",
			errHas:   []string{"spec.policy is required"},
		},
		{
			name:     "semver without range",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {semver: {}}}",
			errHas:   []string{"spec.policy.semver.range is required"},
		},
		{
			name:     "range is a number",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {semver: {range: 1}}}",
			errHas:   []string{"spec.policy.semver.range must be a string, not a number"},
		},
		{
			name:     "misspelt policy kind",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {semVer: {range: '*'}}}",
			errHas:   []string{"spec.policy.semVer is not a field of image.toolkit.fluxcd.io/v1", "semver, alphabetical, numerical"},
		},
		{
			name:     "upper-case order rejected by the CRD enum",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {numerical: {order: ASC}}}",
			errHas:   []string{`spec.policy.numerical.order is "ASC"; it must be one of asc, desc`},
		},
		{
			name:     "pattern is a list",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, filterTags: {pattern: [a]}}",
			errHas:   []string{"spec.filterTags.pattern must be a string, not a list"},
		},
		{
			name:     "digest policy outside the enum",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, digestReflectionPolicy: Sometimes}",
			errHas:   []string{`spec.digestReflectionPolicy is "Sometimes"`},
		},
		{
			name:     "interval without Always",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, interval: 5m}",
			errHas:   []string{"spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'"},
		},
		{
			name:     "Always without interval",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, digestReflectionPolicy: Always}",
			errHas:   []string{"spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"},
		},
		{
			name:     "interval in days",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, digestReflectionPolicy: Always, interval: 1d}",
			errHas:   []string{`spec.interval is "1d"`},
		},
		{
			name:     "digest policy is not a v1beta1 field",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImagePolicy\nspec: {imageRepositoryRef: {name: x}, policy: {alphabetical: {}}, digestReflectionPolicy: Never}",
			errHas:   []string{"spec.digestReflectionPolicy is not a field of image.toolkit.fluxcd.io/v1beta1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromObject(decode(t, tc.manifest))
			if len(tc.errHas) > 0 {
				checkObjectErr(t, err, tc.errHas)
				return
			}
			if err != nil {
				t.Fatalf("FromObject() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// checkObjectErr fails unless err wraps ErrInvalidObject and says each of
// errHas.
func checkObjectErr(t *testing.T, err error, errHas []string) {
	t.Helper()
	if !errors.Is(err, ErrInvalidObject) {
		t.Fatalf("error = %v, want one wrapping ErrInvalidObject", err)
	}
	for _, s := range errHas {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestRepositoryFromObject(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		want     Repository
		errHas   []string // empty: no error
	}{
		{
			name: "v1 with everything",
			manifest: `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: front-end, namespace: sock-shop}
spec:
  image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end
  interval: 5m
  timeout: 60s
  provider: aws
  secretRef: {name: ecr}
  certSecretRef: {name: ca}
  proxySecretRef: {name: proxy}
  serviceAccountName: scanner
  insecure: false
  suspend: false
  accessFrom:
    namespaceSelectors: [{matchLabels: {team: a}}]
  exclusionList: ['^.*\.sig$', '^.*-rc\d*$']
`,
			want: Repository{
				Image:              "123456789012.dkr.ecr.us-west-2.amazonaws.com/weaveworksdemos/front-end",
				Interval:           5 * time.Minute,
				Timeout:            time.Minute,
				SecretRef:          "ecr",
				CertSecretRef:      "ca",
				ProxySecretRef:     "proxy",
				ServiceAccountName: "scanner",
				ExclusionList:      []string{`^.*\.sig$`, `^.*-rc\d*$`},
				Provider:           "aws",
			},
		},
		{
			name:     "defaults: timeout from interval, generic provider, no exclusion list",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nspec: {image: ghcr.io/org/app, interval: 1h}",
			want:     Repository{Image: "ghcr.io/org/app", Interval: time.Hour, Timeout: time.Hour, Provider: "generic"},
		},
		{
			name:     "timeout at least a second",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 10ms, insecure: true}",
			want:     Repository{Image: "alpine", Interval: 10 * time.Millisecond, Timeout: time.Second, Provider: "generic", Insecure: true},
		},
		{
			name:     "registry with a port",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\nspec: {image: 'localhost:5000/app', interval: 1m}",
			want:     Repository{Image: "localhost:5000/app", Interval: time.Minute, Timeout: time.Minute, Provider: "generic"},
		},
		{
			name:     "no image",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {interval: 1m}",
			errHas:   []string{"spec.image is required"},
		},
		{
			name:     "no interval",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine}",
			errHas:   []string{"spec.interval is required"},
		},
		{
			name:     "image with a scheme",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: 'https://ghcr.io/org/app', interval: 1m}",
			errHas:   []string{"must not include a URL scheme", `"https://"`},
		},
		{
			name:     "image with a tag",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: 'ghcr.io/org/app:v1', interval: 1m}",
			errHas:   []string{"must not include a tag", `":v1"`},
		},
		{
			name:     "image with a digest",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: 'alpine@sha256:abc', interval: 1m}",
			errHas:   []string{"must not include a digest"},
		},
		{
			name:     "timeout in hours",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, timeout: 1h}",
			errHas:   []string{`spec.timeout is "1h"`},
		},
		{
			name:     "unknown provider",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, provider: azure-ad}",
			errHas:   []string{`spec.provider is "azure-ad"; it must be one of generic, aws, azure, gcp`},
		},
		{
			name:     "provider is not a v1beta1 field",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1beta1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, provider: aws}",
			errHas:   []string{"spec.provider is not a field of image.toolkit.fluxcd.io/v1beta1"},
		},
		{
			name:     "invalid exclusion pattern",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, exclusionList: ['[=']}",
			errHas:   []string{`spec.exclusionList[0] "[="`},
		},
		{
			name:     "exclusion item not a string",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, exclusionList: [1]}",
			errHas:   []string{"spec.exclusionList[0] must be a string, not a number"},
		},
		{
			name: "too many exclusions",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, exclusionList: [" +
				strings.TrimSuffix(strings.Repeat("'^x$',", 26), ",") + "]}",
			errHas: []string{"spec.exclusionList has 26 items; at most 25"},
		},
		{
			name:     "secretRef without name",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, secretRef: {}}",
			errHas:   []string{"spec.secretRef.name is required"},
		},
		{
			name:     "insecure as a string",
			manifest: "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nspec: {image: alpine, interval: 1m, insecure: 'yes'}",
			errHas:   []string{"spec.insecure must be true or false, not a string"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RepositoryFromObject(decode(t, tc.manifest))
			if len(tc.errHas) > 0 {
				checkObjectErr(t, err, tc.errHas)
				return
			}
			if err != nil {
				t.Fatalf("RepositoryFromObject() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("RepositoryFromObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The two objects together, as the images commands use them.
func TestObjectsToSelect(t *testing.T) {
	policy := decode(t, `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: sock-shop-front-end, namespace: sock-shop}
spec:
  imageRepositoryRef: {name: sock-shop-front-end}
  filterTags:
    pattern: '^main-[a-fA-F0-9]+-(?P<buildnumber>.*)'
    extract: '$buildnumber'
  policy:
    numerical: {order: asc}
`)
	repository := decode(t, `
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: sock-shop-front-end, namespace: sock-shop}
spec: {image: weaveworksdemos/front-end, interval: 5m}
`)
	spec, err := FromObject(policy)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := RepositoryFromObject(repository)
	if err != nil {
		t.Fatal(err)
	}
	spec.ExclusionList = repo.ExclusionList
	if err := CompilePattern(spec.FilterTags.Pattern, spec.FilterTags.Extract); err != nil {
		t.Fatalf("CompilePattern() = %v", err)
	}
	got, err := Select(spec, []string{"main-1f49071-24", "main-1f49071-24.sig", "main-d480788-3", "main-d480788-10", "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Tag: "main-1f49071-24", Value: "24"}); got != want {
		t.Errorf("Select() = %+v, want %+v", got, want)
	}
}

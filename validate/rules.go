package validate

// ruleDef is a rule and its check. The rules that look at one root's
// objects at a time (schema, no-schema, deprecated-api, and parts of
// plain-secret and duplicate-object) run in checkRoots instead, cached per
// root.
type ruleDef struct {
	Rule
	check func(*checker) error
}

// allRules returns the rules, in the order they run and are listed.
func allRules() []ruleDef {
	return []ruleDef{
		{Rule{"syntax", Error, "YAML files parse: no malformed YAML, duplicate keys, non-UTF-8 or binary content; files listed as kustomize resources hold Kubernetes objects; no file name holds a control or invisible character"}, checkSyntax},
		{Rule{"build", Error, "every render root builds, as kustomize-controller or kustomize build would build it"}, checkBuild},
		{Rule{"helm-release", Error, "every HelmRelease renders as helm-controller would install it: its chart and version exist in its source, its values merge and pass the chart's values.schema.json, its templates and post-renderers run"}, checkReleases},
		{Rule{"schema", Error, "objects match the schema of their kind: built-in kinds for the Kubernetes version, custom resources their CRD (with its CEL rules)"}, nil},
		{Rule{"no-schema", Warning, "a custom resource whose kind has no known schema (no CRD in the repository or --crds), reported once per kind"}, nil},
		{Rule{"deprecated-api", Warning, "an API version deprecated, or removed (error), in the Kubernetes or Flux version in use (a Flux API removed from the newest release, where the repository names none, is a warning)"}, nil},
		{Rule{"imagepolicy-marker", Error, "every $imagepolicy marker is well formed, names an ImagePolicy that exists, fits the field it is on, and its current value is one the policy can select (a warning for a tag without a digit, a placeholder the automation replaces)"}, checkMarkers},
		{Rule{"imagepolicy-pattern", Error, "an ImagePolicy's filterTags.pattern compiles as a Go regexp and extract names only groups it has"}, checkPatterns},
		{Rule{"flux-reference", Error, "Flux objects refer to things that exist: sourceRef, imageRepositoryRef, spec.path, update.path, dependsOn"}, checkReferences},
		{Rule{"plain-secret", Error, "a Secret with data or stringData is neither SOPS-encrypted nor a SealedSecret (the value is never shown)"}, checkSecrets},
		{Rule{"duplicate-object", Error, "the same object twice in one render root, or applied by two Flux Kustomizations"}, checkDuplicates},
		{Rule{"unapplied", Warning, "a file of Kubernetes objects no render root applies (no kustomization lists it, no Flux Kustomization builds its folder): named, and its objects checked on their own"}, nil},
		{Rule{"not-rendered", Warning, "a Flux Kustomization, HelmRelease or Flux Operator ResourceSet whose objects are neither rendered nor checked, because its source is another repository (or a ref of this one not in the local Git objects), its registry cannot be reached, its chart is not cached offline, or its inputs come from a provider only the cluster can ask: named, so nothing is left out without a word"}, checkNotRendered},
	}
}

// ruleByID returns the rule with id, or a zero Rule.
func ruleByID(id string) Rule {
	for _, r := range Rules() {
		if r.ID == id {
			return r
		}
	}
	return Rule{}
}

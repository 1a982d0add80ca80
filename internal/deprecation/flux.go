package deprecation

import "k8s.io/apimachinery/pkg/runtime/schema"

// The Flux facts below were read from the Flux releases themselves, taken
// from the Go module proxy:
//
//   - Which controller versions make up a Flux release: the
//     manifests/bases/<controller>/kustomization.yaml of
//     github.com/fluxcd/flux2/v2 at v2.0.0, v2.1.0, v2.2.2 (v2.2.0 is not
//     served; a patch release keeps the controllers' minor versions),
//     v2.3.0, v2.4.0, v2.5.0, v2.6.0, v2.7.0, v2.8.0, v2.9.1 and v2.9.4, and
//     of github.com/fluxcd/flux2 v0.37.0 and v0.40.0:
//
//     Flux   source kustomize helm   notification image-reflector image-automation
//     v0.37  0.32   0.31      0.27   0.29         0.23            0.27
//     v0.40  0.35   0.34      0.30   0.32         0.25            0.30
//     v2.0   1.0    1.0       0.35   1.0          0.29            0.35
//     v2.1   1.1    1.1       0.36   1.1          0.30            0.36
//     v2.2   1.2    1.2       0.37   1.2          0.31            0.37
//     v2.3   1.3    1.3       1.0    1.3          0.32            0.38
//     v2.4   1.4    1.4       1.1    1.4          0.33            0.39
//     v2.5   1.5    1.5       1.2    1.5          0.34            0.40
//     v2.6   1.6    1.6       1.3    1.6          0.35            0.41
//     v2.7   1.7    1.7       1.4    1.7          1.0             1.0
//     v2.8   1.8    1.8       1.5    1.8          1.1             1.1
//     v2.9   1.9    1.9       1.6    1.9          1.2             1.2
//
//   - When a version was deprecated and when it stopped being served: the
//     kubebuilder markers on the kinds of each controller's API module
//     (github.com/fluxcd/<controller>/api at every minor version above):
//     `+kubebuilder:deprecatedversion` becomes `deprecated: true` in the CRD
//     (and the API server's warning) and `+kubebuilder:skipversion` drops
//     the version from the CRD. Where the controller's own module was served
//     too, its config/crd/bases/*.yaml confirm the markers (source-controller
//     v1.1.1, v1.2.3, v1.3.0, v1.7.0, v1.8.0, v1.9.x; kustomize-controller
//     v1.6.0, v1.7.2, v1.9.x; helm-controller v0.36.0, v0.37.x, v1.4.0,
//     v1.6.x; notification-controller v1.5.0, v1.6.0, v1.9.x;
//     image-reflector-controller v1.1.1, v1.2.x; image-automation-controller
//     v1.1.2, v1.2.x). No Flux CRD ever used `served: false`: a removed
//     version is dropped from the CRD.
//   - The controllers' CHANGELOG.md, which say the same in words.
//
// Before Flux v2.0 no version carried a deprecation marker, so
// "Deprecated" is the first release that flagged a version, which is often
// later than the release that superseded it (noted where it matters). The
// Flux roadmap of 2024 announced that "starting with v2.4" deprecated beta
// versions would be removed gradually; the data shows the first removals
// shipped in v2.7.

// fluxServedAPIs returns the kinds and versions the bundled Flux release
// (BundledFluxVersion) serves: the CRDs of its gotk-components, and so the
// replacements the table points to.
func fluxServedAPIs() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		// source-controller v1.9.4
		gvk("source.toolkit.fluxcd.io", "v1", "Bucket"),
		gvk("source.toolkit.fluxcd.io", "v1", "ExternalArtifact"),
		gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
		gvk("source.toolkit.fluxcd.io", "v1", "HelmChart"),
		gvk("source.toolkit.fluxcd.io", "v1", "HelmRepository"),
		gvk("source.toolkit.fluxcd.io", "v1", "OCIRepository"),
		// kustomize-controller v1.9.4
		gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
		// helm-controller v1.6.3
		gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
		// notification-controller v1.9.3
		gvk("notification.toolkit.fluxcd.io", "v1beta3", "Alert"),
		gvk("notification.toolkit.fluxcd.io", "v1beta3", "Provider"),
		gvk("notification.toolkit.fluxcd.io", "v1", "Receiver"),
		// image-reflector-controller v1.2.4
		gvk("image.toolkit.fluxcd.io", "v1", "ImagePolicy"),
		gvk("image.toolkit.fluxcd.io", "v1", "ImageRepository"),
		// image-automation-controller v1.2.4
		gvk("image.toolkit.fluxcd.io", "v1", "ImageUpdateAutomation"),
	}
}

// fluxAPIs returns every Flux API version that was deprecated or removed.
// Each replacement is the version the bundled Flux release serves.
func fluxAPIs() []Info {
	var out []Info
	add := func(group, version string, kinds []string, i Info, replacement string) {
		for _, k := range kinds {
			e := i
			e.GroupVersionKind, e.Project = gvk(group, version, k), Flux
			e.Replacement = gvk(group, replacement, k)
			out = append(out, e)
		}
	}
	const (
		source       = "source.toolkit.fluxcd.io"
		kustomize    = "kustomize.toolkit.fluxcd.io"
		helm         = "helm.toolkit.fluxcd.io"
		notification = "notification.toolkit.fluxcd.io"
		image        = "image.toolkit.fluxcd.io"
	)
	// source.toolkit.fluxcd.io (source-controller).
	//
	// v1alpha1: source-controller v0.1.0 (2020-09-30) "promotes the
	// source.toolkit.fluxcd.io API to v1beta1 and removes support for
	// v1alpha1" (CHANGELOG). That predates every Flux release whose
	// manifests the proxy serves, so the Flux release is not established.
	add(source, "v1alpha1", []string{"Bucket", "GitRepository", "HelmChart", "HelmRepository"},
		Info{Note: "removed before Flux v2.0"}, "v1")
	// v1beta1 (superseded by v1beta2 in source-controller v0.22.0, whose
	// CHANGELOG says it "deprecates v1beta1", without a marker)
	// GitRepository: deprecated in v2.0 (source-controller/api
	// v1.0.0 marker "v1beta1 GitRepository is deprecated, upgrade to v1";
	// CHANGELOG 1.0.0-rc.1 lists "v1beta1 (deprecated)"). The other v1beta1
	// kinds: deprecated in v2.3 (api v1.3.0 markers; the CRDs of
	// source-controller v1.3.0 carry "v1beta1 HelmChart is deprecated,
	// upgrade to v1", "v1beta1 HelmRepository is deprecated, upgrade to v1",
	// "v1beta1 Bucket is deprecated, upgrade to v1beta2"; those of v1.2.3 do
	// not). All removed in v2.7 (api v1.7.0 skipversion; the CRDs of
	// source-controller v1.7.0 have no v1beta1; CHANGELOG 1.7.0 "Remove
	// deprecated APIs in group source.toolkit.fluxcd.io/v1beta1", #1861).
	add(source, "v1beta1", []string{"GitRepository"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 7}}, "v1")
	add(source, "v1beta1", []string{"Bucket", "HelmChart", "HelmRepository"},
		Info{Deprecated: Release{2, 3}, Removed: Release{2, 7}}, "v1")
	// v1beta2: GitRepository deprecated in v2.0 (api v1.0.0, GitRepository
	// promoted to v1); HelmChart and HelmRepository in v2.3 (api v1.3.0,
	// CHANGELOG 1.3.0: promoted to v1); Bucket in v2.4 (api v1.4.0,
	// CHANGELOG 1.4.0: promoted to v1); OCIRepository in v2.6 (api v1.6.0,
	// CHANGELOG 1.6.0: promoted to v1). All removed in v2.8 (api v1.8.0
	// skipversion; the CRDs of source-controller v1.8.0 serve only v1;
	// CHANGELOG 1.8.0 "The v1beta2 APIs were removed", #1983).
	add(source, "v1beta2", []string{"GitRepository"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 8}}, "v1")
	add(source, "v1beta2", []string{"HelmChart", "HelmRepository"},
		Info{Deprecated: Release{2, 3}, Removed: Release{2, 8}}, "v1")
	add(source, "v1beta2", []string{"Bucket"},
		Info{Deprecated: Release{2, 4}, Removed: Release{2, 8}}, "v1")
	add(source, "v1beta2", []string{"OCIRepository"},
		Info{Deprecated: Release{2, 6}, Removed: Release{2, 8}}, "v1")

	// kustomize.toolkit.fluxcd.io (kustomize-controller).
	//
	// v1alpha1: kustomize-controller v0.1.0 (2020-09-30) "removes support
	// for v1alpha1" (CHANGELOG); Flux release not established.
	add(kustomize, "v1alpha1", []string{"Kustomization"},
		Info{Note: "removed before Flux v2.0"}, "v1")
	// v1beta1 and v1beta2: deprecated in v2.0 (kustomize-controller/api
	// v1.0.0 markers; CHANGELOG 1.0.0-rc.1 lists both as deprecated;
	// kustomize-controller v0.15.0 had superseded v1beta1 with v1beta2,
	// without a marker). v1beta1 removed in v2.7 (api v1.7.0 skipversion; the CRD of
	// kustomize-controller v1.7.2 has no v1beta1, that of v1.6.0 has it
	// deprecated; CHANGELOG 1.7.0, #1494); v1beta2 removed in v2.8 (api
	// v1.8.0 skipversion; the CRD of v1.9.0 serves only v1; CHANGELOG 1.8.0,
	// #1584).
	add(kustomize, "v1beta1", []string{"Kustomization"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 7}}, "v1")
	add(kustomize, "v1beta2", []string{"Kustomization"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 8}}, "v1")

	// helm.toolkit.fluxcd.io (helm-controller).
	//
	// v2alpha1: helm-controller v0.1.0 (2020) promoted the API to v2beta1
	// (CHANGELOG); Flux release not established.
	add(helm, "v2alpha1", []string{"HelmRelease"},
		Info{Note: "removed before Flux v2.0"}, "v2")
	// v2beta1: deprecated in v2.2 (helm-controller/api v0.37.0 marker; the
	// CRD of helm-controller v0.37.0 says "v2beta1 HelmRelease is
	// deprecated, upgrade to v2beta2", that of v0.36.0 has no flag;
	// CHANGELOG 0.37.0 "Add deprecation warning to v2beta1 API", #821).
	// Removed in v2.7 (api v1.4.0 skipversion; the CRD of helm-controller
	// v1.4.0 has no v2beta1; CHANGELOG 1.4.0 "Remove deprecated
	// helm.toolkit.fluxcd.io/v2beta1 API group", #1280).
	add(helm, "v2beta1", []string{"HelmRelease"},
		Info{Deprecated: Release{2, 2}, Removed: Release{2, 7}}, "v2")
	// v2beta2: deprecated in v2.3 (api v1.0.1 marker; CHANGELOG 1.0.0 lists
	// "v2beta2 (deprecated)"; the CRD of v1.4.0 says "v2beta2 HelmRelease is
	// deprecated, upgrade to v2"). Removed in v2.8 (api v1.5.0 skipversion;
	// the CRD of v1.6.0 serves only v2; CHANGELOG 1.5.0 "The v2beta2 APIs
	// were removed", #1404).
	add(helm, "v2beta2", []string{"HelmRelease"},
		Info{Deprecated: Release{2, 3}, Removed: Release{2, 8}}, "v2")

	// notification.toolkit.fluxcd.io (notification-controller).
	//
	// v1alpha1: notification-controller v0.1.0 (2020) "removes support for
	// v1alpha1" (CHANGELOG); Flux release not established.
	add(notification, "v1alpha1", []string{"Alert", "Provider"},
		Info{Note: "removed before Flux v2.0"}, "v1beta3")
	add(notification, "v1alpha1", []string{"Receiver"},
		Info{Note: "removed before Flux v2.0"}, "v1")
	// Receiver v1beta1 and v1beta2: deprecated in v2.0 (the Receiver API
	// went GA in notification-controller v1.0.0: api v1.0.0 markers,
	// CHANGELOG 1.0.0-rc.1 lists both as deprecated). Alert and Provider
	// v1beta1 and v1beta2: deprecated in v2.2, when v1beta3 came
	// (notification-controller/api v1.2.x markers; the CRDs of v1.5.0 say
	// "v1beta2 Alert is deprecated, upgrade to v1beta3"; api v1.1.0 has no
	// marker). v1beta1 removed in v2.7 (api v1.7.0 skipversion; CHANGELOG
	// 1.7.0 "The v1beta1 APIs were removed", #1157); v1beta2 removed in
	// v2.9 (the CRDs of notification-controller v1.9.0 serve only v1beta3
	// Alert and Provider and v1 Receiver; CHANGELOG 1.9.0 "removes the
	// deprecated notification.toolkit.fluxcd.io/v1beta2 API group", #1327).
	add(notification, "v1beta1", []string{"Receiver"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 7}}, "v1")
	add(notification, "v1beta1", []string{"Alert", "Provider"},
		Info{Deprecated: Release{2, 2}, Removed: Release{2, 7}}, "v1beta3")
	add(notification, "v1beta2", []string{"Receiver"},
		Info{Deprecated: Release{2, 0}, Removed: Release{2, 9}}, "v1")
	add(notification, "v1beta2", []string{"Alert", "Provider"},
		Info{Deprecated: Release{2, 2}, Removed: Release{2, 9}}, "v1beta3")

	// image.toolkit.fluxcd.io (image-reflector-controller: ImageRepository,
	// ImagePolicy; image-automation-controller: ImageUpdateAutomation).
	//
	// v1alpha1 and v1alpha2: removed in v0.37 (image-reflector-controller
	// v0.23.0 "comes with the removal of the v1alpha1 and v1alpha2 API
	// versions which were deprecated in 2021"; image-automation-controller
	// v0.27.0 "Remove deprecated alpha APIs"; both ship in flux2 v0.37.0).
	// The 2021 deprecation carried no marker, so its release is not
	// established.
	for _, v := range []string{"v1alpha1", "v1alpha2"} {
		add(image, v, []string{"ImagePolicy", "ImageRepository", "ImageUpdateAutomation"},
			Info{Removed: Release{0, 37}}, "v1")
	}
	// v1beta1 ImagePolicy and ImageRepository: never marked deprecated (no
	// marker in image-reflector-controller/api v0.25.0 through v0.35.0);
	// superseded by v1beta2 in image-reflector-controller v0.25.0 (CHANGELOG:
	// "please update the ImageRepository and ImagePolicy Custom Resources in
	// Git by replacing image.toolkit.fluxcd.io/v1beta1 with
	// image.toolkit.fluxcd.io/v1beta2"), which shipped in Flux v0.40.
	// v1beta1 ImageUpdateAutomation: deprecated in v2.3
	// (image-automation-controller v0.38.0 "Deprecate v1beta1 API", #677;
	// api v0.38.0 marker). All three removed in v2.7 (api v1.0.0
	// skipversion; CHANGELOG 1.0.0 of both controllers "The v1beta1 APIs
	// were removed", #805 and #946; the CRDs of image-reflector-controller
	// v1.1.1 and image-automation-controller v1.1.2 have no v1beta1).
	add(image, "v1beta1", []string{"ImagePolicy", "ImageRepository"},
		Info{Removed: Release{2, 7}, Note: "never marked deprecated; superseded by v1beta2 in Flux v0.40"}, "v1")
	add(image, "v1beta1", []string{"ImageUpdateAutomation"},
		Info{Deprecated: Release{2, 3}, Removed: Release{2, 7}}, "v1")
	// v1beta2: deprecated in v2.7, when v1 came (api v1.0.0 markers; the
	// CRDs of image-reflector-controller v1.1.1 say "v1beta2 ImagePolicy is
	// deprecated, upgrade to v1", those of image-automation-controller v1.1.2
	// "v1beta2 ImageUpdateAutomation is deprecated, upgrade to v1"). Removed
	// in v2.9 (api v1.2.0 skipversion; the CRDs of both controllers at v1.2.0
	// serve only v1; CHANGELOG 1.2.0 of both "The
	// image.toolkit.fluxcd.io/v1beta2 APIs were removed").
	add(image, "v1beta2", []string{"ImagePolicy", "ImageRepository", "ImageUpdateAutomation"},
		Info{Deprecated: Release{2, 7}, Removed: Release{2, 9}}, "v1")
	return out
}

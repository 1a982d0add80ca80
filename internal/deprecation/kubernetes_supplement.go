package deprecation

// kubernetesSupplement returns the built-in kinds that were deprecated or
// removed but whose types are gone from the k8s.io/api version the generated
// table reads, so that its lifecycle data no longer names them. Each fact is
// the lifecycle data of the last k8s.io/api release that still carried the
// type (the same zz_generated.prerelease-lifecycle.go files gen reads, at an
// older version: `go run ./gen -version v0.X.Y -modules k8s.io/api`), checked
// against the Kubernetes "Deprecated API Migration Guide"
// (kubernetes.io/docs/reference/using-api/deprecation-guide/).
//
// Not covered: alpha APIs deleted from k8s.io/api before v0.19, the first
// release with lifecycle data (batch/v2alpha1, settings.k8s.io/v1alpha1 and
// the like); they were never served by default.
func kubernetesSupplement() []Info {
	return []Info{
		// k8s.io/api v0.35.1 autoscaling/v2beta1; guide, v1.25: "The
		// autoscaling/v2beta1 API version of HorizontalPodAutoscaler is no
		// longer served as of v1.25 ... use autoscaling/v2, available since
		// v1.23".
		{
			GroupVersionKind: gvk("autoscaling", "v2beta1", "HorizontalPodAutoscaler"), Project: Kubernetes,
			Introduced: Release{1, 8}, Deprecated: Release{1, 22}, Removed: Release{1, 25},
			Replacement: gvk("autoscaling", "v2", "HorizontalPodAutoscaler"),
		},
		// k8s.io/api v0.35.1 autoscaling/v2beta2; guide, v1.26: no longer
		// served as of v1.26, use autoscaling/v2.
		{
			GroupVersionKind: gvk("autoscaling", "v2beta2", "HorizontalPodAutoscaler"), Project: Kubernetes,
			Introduced: Release{1, 12}, Deprecated: Release{1, 23}, Removed: Release{1, 26},
			Replacement: gvk("autoscaling", "v2", "HorizontalPodAutoscaler"),
		},
		// k8s.io/api v0.26.15 batch/v1beta1 (the CronJob's job template
		// kind; CronJob itself is in the generated table).
		{
			GroupVersionKind: gvk("batch", "v1beta1", "JobTemplate"), Project: Kubernetes,
			Introduced: Release{1, 8}, Deprecated: Release{1, 22}, Removed: Release{1, 25},
		},
		// k8s.io/api v0.34.3 certificates/v1alpha1; v1beta1 is in the
		// generated table.
		{
			GroupVersionKind: gvk("certificates.k8s.io", "v1alpha1", "PodCertificateRequest"), Project: Kubernetes,
			Introduced: Release{1, 34}, Deprecated: Release{1, 37}, Removed: Release{1, 40},
			Replacement: gvk("certificates.k8s.io", "v1beta1", "PodCertificateRequest"),
		},
		// k8s.io/api v0.31.14 coordination/v1alpha1 (no replacement tag;
		// v1alpha2 and v1beta1 followed, both in the generated table, and
		// there is no GA LeaseCandidate).
		{
			GroupVersionKind: gvk("coordination.k8s.io", "v1alpha1", "LeaseCandidate"), Project: Kubernetes,
			Introduced: Release{1, 31}, Deprecated: Release{1, 34}, Removed: Release{1, 37},
			Replacement: gvk("coordination.k8s.io", "v1beta1", "LeaseCandidate"),
		},
		// k8s.io/api v0.26.15 extensions/v1beta1; guide, v1.16 (and the
		// v1.16 removal announcement, kubernetes.io/blog/2019/07/18):
		// PodSecurityPolicy in extensions/v1beta1 is no longer served,
		// migrate to policy/v1beta1 (itself removed in v1.25).
		{
			GroupVersionKind: gvk("extensions", "v1beta1", "PodSecurityPolicy"), Project: Kubernetes,
			Introduced: Release{1, 2}, Deprecated: Release{1, 11}, Removed: Release{1, 16},
			Replacement: gvk("policy", "v1beta1", "PodSecurityPolicy"),
			Note:        "use Pod Security Admission or a third-party admission webhook",
		},
		// Guide, v1.16: "The extensions/v1beta1, apps/v1beta1, and
		// apps/v1beta2 API versions of ReplicaSet are no longer served as of
		// v1.16 ... use apps/v1". k8s.io/api never had an apps/v1beta1
		// ReplicaSet type, so there is no lifecycle data and no established
		// deprecation release.
		{
			GroupVersionKind: gvk("apps", "v1beta1", "ReplicaSet"), Project: Kubernetes,
			Removed:     Release{1, 16},
			Replacement: gvk("apps", "v1", "ReplicaSet"),
		},
		// k8s.io/api v0.28.15 flowcontrol/v1alpha1.
		{
			GroupVersionKind: gvk("flowcontrol.apiserver.k8s.io", "v1alpha1", "FlowSchema"), Project: Kubernetes,
			Introduced: Release{1, 18}, Deprecated: Release{1, 20}, Removed: Release{1, 21},
			Replacement: gvk("flowcontrol.apiserver.k8s.io", "v1beta3", "FlowSchema"),
		},
		{
			GroupVersionKind: gvk("flowcontrol.apiserver.k8s.io", "v1alpha1", "PriorityLevelConfiguration"), Project: Kubernetes,
			Introduced: Release{1, 18}, Deprecated: Release{1, 20}, Removed: Release{1, 21},
			Replacement: gvk("flowcontrol.apiserver.k8s.io", "v1beta3", "PriorityLevelConfiguration"),
		},
		// k8s.io/api v0.28.15 networking/v1alpha1; ClusterCIDR was dropped
		// without a successor.
		{
			GroupVersionKind: gvk("networking.k8s.io", "v1alpha1", "ClusterCIDR"), Project: Kubernetes,
			Introduced: Release{1, 25}, Deprecated: Release{1, 28}, Removed: Release{1, 31},
		},
		// k8s.io/api v0.33.7 networking/v1alpha1 (replacements: the same
		// kinds in networking.k8s.io/v1, as gen infers them).
		{
			GroupVersionKind: gvk("networking.k8s.io", "v1alpha1", "IPAddress"), Project: Kubernetes,
			Introduced: Release{1, 27}, Deprecated: Release{1, 30}, Removed: Release{1, 33},
			Replacement: gvk("networking.k8s.io", "v1", "IPAddress"),
		},
		{
			GroupVersionKind: gvk("networking.k8s.io", "v1alpha1", "ServiceCIDR"), Project: Kubernetes,
			Introduced: Release{1, 27}, Deprecated: Release{1, 30}, Removed: Release{1, 33},
			Replacement: gvk("networking.k8s.io", "v1", "ServiceCIDR"),
		},
		// k8s.io/api v0.28.15 policy/v1beta1; guide, v1.25: "PodSecurityPolicy
		// in the policy/v1beta1 API version is no longer served as of v1.25,
		// and the PodSecurityPolicy admission controller will be removed";
		// the API server's warning reads "policy/v1beta1 PodSecurityPolicy is
		// deprecated in v1.21+, unavailable in v1.25+".
		{
			GroupVersionKind: gvk("policy", "v1beta1", "PodSecurityPolicy"), Project: Kubernetes,
			Introduced: Release{1, 10}, Deprecated: Release{1, 21}, Removed: Release{1, 25},
			Note: "use Pod Security Admission or a third-party admission webhook",
		},
		// k8s.io/api v0.33.7 resource/v1alpha3.
		{
			GroupVersionKind: gvk("resource.k8s.io", "v1alpha3", "DeviceClass"), Project: Kubernetes,
			Introduced: Release{1, 31}, Deprecated: Release{1, 34}, Removed: Release{1, 37},
			Replacement: gvk("resource.k8s.io", "v1beta1", "DeviceClass"),
		},
		{
			GroupVersionKind: gvk("resource.k8s.io", "v1alpha3", "ResourceClaim"), Project: Kubernetes,
			Introduced: Release{1, 31}, Deprecated: Release{1, 34}, Removed: Release{1, 37},
			Replacement: gvk("resource.k8s.io", "v1beta1", "ResourceClaim"),
		},
		{
			GroupVersionKind: gvk("resource.k8s.io", "v1alpha3", "ResourceClaimTemplate"), Project: Kubernetes,
			Introduced: Release{1, 31}, Deprecated: Release{1, 34}, Removed: Release{1, 37},
			Replacement: gvk("resource.k8s.io", "v1beta1", "ResourceClaimTemplate"),
		},
		{
			GroupVersionKind: gvk("resource.k8s.io", "v1alpha3", "ResourceSlice"), Project: Kubernetes,
			Introduced: Release{1, 31}, Deprecated: Release{1, 34}, Removed: Release{1, 37},
			Replacement: gvk("resource.k8s.io", "v1beta1", "ResourceSlice"),
		},
		// k8s.io/api v0.34.3 storagemigration/v1alpha1 (no replacement tag;
		// v1beta1, in the generated table, followed).
		{
			GroupVersionKind: gvk("storagemigration.k8s.io", "v1alpha1", "StorageVersionMigration"), Project: Kubernetes,
			Introduced: Release{1, 30}, Deprecated: Release{1, 33}, Removed: Release{1, 36},
			Replacement: gvk("storagemigration.k8s.io", "v1beta1", "StorageVersionMigration"),
		},
	}
}

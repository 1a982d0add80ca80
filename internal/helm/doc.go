// Package helm renders Flux HelmReleases as helm-controller installs them,
// with the Helm v4 SDK in process: Resolve finds and fetches a release's
// chart as source-controller builds it (a HelmRepository's index or OCI
// tags, an OCIRepository, a HelmChart, a chart directory of a
// GitRepository), Values merges its values as helm-controller does, and
// Render templates the chart and applies what helm-controller applies
// (CRDs, hooks, post-renderers, commonMetadata, origin labels, the release
// namespace). A Fetcher keeps charts in the cache by digest and each
// version resolution for its source's interval; offline, it reads only the
// cache. What keeps a release from being checked without anything being
// wrong with it (another repository's source, a registry out of reach) is
// an *Unchecked error, never a finding.
package helm

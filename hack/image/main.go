// Command image builds the container image of a release from the archives
// hack/dist.sh wrote, on a base image with a shell, and pushes it: no
// Docker engine, go-containerregistry only.
//
//	go run ./hack/image --base alpine/git:latest --dist dist \
//	    --tag ghcr.io/kubectl-gitops/kubectl-gitops:v0.3.0
//
// The index and its images record the base (the OCI base.name and
// base.digest annotations); on a base named by tag, the command prints the
// digest the tag resolved to, for a --base that builds on the same base
// again.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubectl-gitops/kubectl-gitops/internal/release"
)

func main() {
	var tags stringList
	base := flag.String("base", "alpine/git:latest", "the base image: a shell and git, for GitLab CI jobs")
	dist := flag.String("dist", "dist", "the folder of the release archives")
	version := flag.String("version", os.Getenv("VERSION"), "the release's version, as a label")
	source := flag.String("source", "https://github.com/kubectl-gitops/kubectl-gitops", "the source repository, as a label")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "the platforms of the image, comma-separated; dist needs the archive of each")
	flag.Var(&tags, "tag", "where to push the image, REGISTRY/REPO:TAG (repeatable)")
	flag.Parse()
	if err := run(*base, *dist, *version, *source, strings.Split(*platforms, ","), tags); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(2)
	}
}

func run(base, dist, version, source string, platforms, tags []string) error {
	if len(tags) == 0 {
		return fmt.Errorf("--tag is required")
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return fmt.Errorf("--base: %w", err)
	}
	created := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		created = time.Unix(sec, 0).UTC()
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	idx, err := release.Image(release.ImageOptions{Base: ref, Dist: dist, Version: version, Source: source, Created: created, Platforms: platforms, Remote: opts})
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	if m, err := idx.IndexManifest(); err == nil {
		if _, pinned := ref.(name.Digest); !pinned {
			fmt.Fprintf(os.Stderr, "built on %s, which is %s@%s now: pass that as --base to build on the same base again\n",
				ref, ref.Context(), m.Annotations[release.BaseDigestAnnotation])
		}
	}
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return fmt.Errorf("--tag: %w", err)
		}
		if err := remote.WriteIndex(tag, idx, opts...); err != nil {
			return fmt.Errorf("pushing %s: %w", tag, err)
		}
		fmt.Printf("%s@%s\n", tag, digest)
	}
	return nil
}

type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

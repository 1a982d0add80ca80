package registry

import (
	"context"
	"fmt"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/registry/registrytest"
)

// BenchmarkListTags lists 100 repositories of 1,000 tags each (real images
// pushed to go-containerregistry's registry on loopback, paginated as
// distribution does), the project's target being under 1.5 s on 2 cores.
// It reports the HTTP requests per listing of the 100 repositories.
func BenchmarkListTags(b *testing.B) {
	const repos, tags = 100, 1000
	reg := newTestRegistry(b, registrytest.Paginate)
	names := make([]string, repos)
	tagList := make([]string, tags)
	for i := range tagList {
		tagList[i] = fmt.Sprintf("main-%07x-%d", i*7919, i)
	}
	for i := range names {
		repo := fmt.Sprintf("sock-shop/service-%03d", i)
		img := reg.push(b, repo, tagList[0])
		reg.tag(b, repo, img, tagList[1:]...)
		names[i] = reg.host() + "/" + repo
	}
	for _, pageSize := range []int{DefaultPageSize, 100} {
		b.Run(fmt.Sprintf("page=%d", pageSize), func(b *testing.B) {
			cnt := newCounter()
			c := New(Options{Keychain: staticKeychain{}, Transport: cnt, PageSize: pageSize})
			runs := 0
			for b.Loop() {
				for repo, r := range c.ListTags(context.Background(), names) {
					if r.Err != nil || len(r.Tags) != tags {
						b.Fatalf("%s: %d tags, %v", repo, len(r.Tags), r.Err)
					}
				}
				runs++
			}
			b.ReportMetric(float64(cnt.total)/float64(runs), "requests/op")
		})
	}
}

package validate

import (
	"encoding/json"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cache"
)

// memo keeps what the rules learned of each root and file between runs of
// one repository (a cache.Memo): JSON values, and root facts as records,
// each decoded only when a run asks for it.
type memo struct {
	*cache.Memo[string]
}

func memoKey(opts Options) string { return cache.Key("validate-memo/2", opts.Salt, opts.RepoKey) }

// memoHeader names the memo's record format.
const memoHeader = "validate-memo/4"

// loadMemo reads the memo; a nil cache gives an empty memo never saved.
func loadMemo(cc *cache.Cache, key string) memo {
	return memo{cache.OpenMemo(cc, key, memoHeader, (*cache.Writer).Blob, (*cache.Reader).Blob)}
}

// get decodes the JSON value under key into v and tells whether there was
// one.
func (m memo) get(key string, v any) bool {
	data, ok := m.Get(key)
	return ok && json.Unmarshal([]byte(data), v) == nil
}

// put keeps v under key, as JSON.
func (m memo) put(key string, v any) {
	if data, err := json.Marshal(v); err == nil {
		m.Put(key, string(data))
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
)

// openAPIIndex is the document at /openapi/v3: one entry for each group
// version, keyed "api/v1" or "apis/GROUP/VERSION".
type openAPIIndex struct {
	Paths map[string]struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	} `json:"paths"`
}

// fetchOpenAPI returns the server's version (its /version gitVersion) and
// the OpenAPI v3 document of every group version the server at cfg serves,
// keyed by its path in the index ("api/v1", "apis/apps/v1"). Paths that are
// not group versions (".well-known/...", "version", "logs", bare "apis" or
// "api") are left out.
func fetchOpenAPI(ctx context.Context, cfg *rest.Config) (string, map[string][]byte, error) {
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("building client transport: %w", err)
	}
	client := &http.Client{Transport: transport}
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
		if err != nil {
			return nil, fmt.Errorf("building request for %s: %w", path, err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, nil
	}
	body, err := get("/version")
	if err != nil {
		return "", nil, err
	}
	var version struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(body, &version); err != nil || version.GitVersion == "" {
		return "", nil, fmt.Errorf("decoding /version: no gitVersion (%v)", err)
	}
	body, err = get("/openapi/v3")
	if err != nil {
		return "", nil, err
	}
	var index openAPIIndex
	if err := json.Unmarshal(body, &index); err != nil {
		return "", nil, fmt.Errorf("decoding /openapi/v3: %w", err)
	}
	keys := make([]string, 0, len(index.Paths))
	for k := range index.Paths {
		if isGroupVersionPath(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	docs := make(map[string][]byte, len(keys))
	for _, k := range keys {
		ref := index.Paths[k].ServerRelativeURL
		if ref == "" {
			ref = "/openapi/v3/" + k
		}
		doc, err := get(ref)
		if err != nil {
			return "", nil, err
		}
		docs[k] = doc
	}
	return version.GitVersion, docs, nil
}

// isGroupVersionPath reports whether an /openapi/v3 index key names one
// group version: "api/v1" or "apis/GROUP/VERSION".
func isGroupVersionPath(p string) bool {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 2 && parts[0] == "api":
		return true
	case len(parts) == 3 && parts[0] == "apis":
		return true
	}
	return false
}

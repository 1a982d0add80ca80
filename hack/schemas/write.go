package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
)

// writeGzipJSON writes v as compact JSON, gzipped, to path. encoding/json
// sorts map keys and the gzip header carries no name or time, so the same
// input gives the same bytes.
func writeGzipJSON(path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", path, err)
	}
	if _, err := zw.Write(body); err != nil {
		return fmt.Errorf("compressing %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

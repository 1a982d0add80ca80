package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// normalizedCopy returns a deep copy of x in the form the API server's JSON
// decoder gives: maps, lists, strings, booleans, int64 for numbers written
// without a fraction and float64 for the others. Values that callers'
// YAML decoders produce (int, float64 that hold integers, time.Time for
// YAML timestamps, json.Number) are converted; anything else becomes its
// printed form, which the schema then judges.
func normalizedCopy(x any) any {
	switch v := x.(type) {
	case nil, string, bool, int64:
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalizedCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizedCopy(e)
		}
		return out
	case float64:
		return normalizeFloat(v)
	case float32:
		return normalizeFloat(float64(v))
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint:
		return normalizeFloat(float64(v))
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
		return float64(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = normalizedCopy(e)
		}
		return out
	}
	return fmt.Sprint(x)
}

// normalizeFloat turns a float64 that holds an integer into int64, as
// decoding the integer literal it was written as would.
func normalizeFloat(f float64) any {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}

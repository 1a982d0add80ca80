package render

import (
	"reflect"
	"testing"
)

// TestWithReleasesKeepsFields: the result a root's HelmReleases are added
// to keeps every field of the root's own, so that a field added to Result
// cannot be lost for the roots that deploy HelmReleases alone.
func TestWithReleasesKeepsFields(t *testing.T) {
	res := &Result{}
	v := reflect.ValueOf(res).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			f.FieldByName("Path").SetString("apps/web")
		}
	}
	out := reflect.ValueOf(withReleases(res, nil)).Elem()
	for i := range v.NumField() {
		field := v.Type().Field(i)
		switch {
		case !field.IsExported(), field.Name == "Releases", field.Name == "Digest", field.Name == "Err":
			// Its own: the HelmReleases, their digest with the root's; a
			// root that fails deploys no HelmRelease.
		case !reflect.DeepEqual(out.Field(i).Interface(), v.Field(i).Interface()):
			t.Errorf("withReleases loses %s: %v, was %v", field.Name, out.Field(i).Interface(), v.Field(i).Interface())
		}
	}
}

package gitwrite

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The templates and expected messages below are the cases of
// image-automation-controller's own tests (internal/source), as facts.
const (
	fluxTemplateUpdated = `Commit summary

Automation: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Updated.Files -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $_ := .Updated.Objects -}}
{{ if eq $resource.Kind "Deployment" -}}
- {{ $resource.Kind | lower }} {{ $resource.Name | lower }}
{{ else -}}
- {{ $resource.Kind }} {{ $resource.Name }}
{{ end -}}
{{ end -}}

Images:
{{ range .Updated.Images -}}
- {{.}} ({{.Policy.Name}})
{{ end -}}
`
	fluxTemplateChanged = `Commit summary with ResultV2

Automation: {{ .AutomationObject }}

{{ range $filename, $objchange := .Changed.FileChanges -}}
- File: {{ $filename }}
{{- range $obj, $changes := $objchange }}
  - Object: {{ $obj.Kind }}/{{ $obj.Namespace }}/{{ $obj.Name }}
    Changes:
{{- range $_ , $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
{{ end -}}
`
	fluxTemplateValues = `Commit summary

Automation: {{ .AutomationObject }}

Cluster: {{ index .Values "cluster" }}
Testing: {{ .Values.testing }}
`
	fluxTemplateImageResult = `Commit summary

Automation: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Changed.ImageResult.Files -}}
- {{ $filename }}
{{ end -}}
`
)

func TestRenderMessage(t *testing.T) {
	automation := NamespacedName{Namespace: "test-ns", Name: "test-update"}
	deploy := Object("apps/v1", "Deployment", "", "test")
	var changed Result
	changed.AddChange("deploy.yaml", deploy, Change{OldValue: "helloworld:1.0.0", NewValue: "helloworld:1.0.1", Setter: "test-ns:policy"})
	legacy := &LegacyResult{}
	legacy.AddImage("deploy.yaml", deploy, ImageRef{Ref: "helloworld:1.0.1", PolicyName: NamespacedName{Namespace: "test-ns", Name: "policy"}})

	var spread Result
	podinfo := Object("apps/v1", "Deployment", "default", "podinfo")
	spread.AddChange("base/deployment.yaml", podinfo, Change{OldValue: "podinfo:v1.0.0", NewValue: "podinfo:v1.0.1", Setter: "flux-system:podinfo"})
	spread.AddChange("overlays/prod/deployment.yaml", podinfo, Change{OldValue: "1", NewValue: "2", Setter: "flux-system:replicas"})

	tests := []struct {
		name    string
		tmpl    string
		data    TemplateData
		want    string
		wantErr func(error) bool
	}{
		{name: "no template gives the default", data: TemplateData{AutomationObject: automation}, want: "Update from image update automation"},
		{
			name: "Changed", tmpl: fluxTemplateChanged, data: TemplateData{AutomationObject: automation, Changed: changed},
			want: "Commit summary with ResultV2\n\nAutomation: test-ns/test-update\n\n- File: deploy.yaml\n  - Object: Deployment//test\n    Changes:\n    - helloworld:1.0.0 -> helloworld:1.0.1\n",
		},
		{
			name: "Values", tmpl: fluxTemplateValues,
			data: TemplateData{AutomationObject: automation, Changed: changed, Values: map[string]string{"cluster": "prod", "testing": "value"}},
			want: "Commit summary\n\nAutomation: test-ns/test-update\n\nCluster: prod\nTesting: value\n",
		},
		{
			name: "Updated is refused for a v1 automation", tmpl: fluxTemplateUpdated, data: TemplateData{AutomationObject: automation, Changed: changed},
			wantErr: func(err error) bool {
				var re *RemovedTemplateFieldError
				return errors.As(err, &re) && re.Field == ".Updated" &&
					err.Error() == "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template"
			},
		},
		{
			name: "ImageResult is refused for a v1 automation", tmpl: fluxTemplateImageResult, data: TemplateData{AutomationObject: automation, Changed: changed},
			wantErr: func(err error) bool {
				var re *RemovedTemplateFieldError
				return errors.As(err, &re) && re.Field == ".Changed.ImageResult"
			},
		},
		{
			name: "Updated for a v1beta2 automation", tmpl: fluxTemplateUpdated, data: TemplateData{AutomationObject: automation, Changed: changed, Updated: legacy},
			want: "Commit summary\n\nAutomation: test-ns/test-update\n\nFiles:\n- deploy.yaml\nObjects:\n- deployment test\nImages:\n- helloworld:1.0.1 (policy)\n",
		},
		{
			name: "ImageResult for a v1beta2 automation", tmpl: fluxTemplateImageResult, data: TemplateData{AutomationObject: automation, Updated: legacy},
			want: "Commit summary\n\nAutomation: test-ns/test-update\n\nFiles:\n- deploy.yaml\n",
		},
		{
			name: "changes of an object across files add up", tmpl: "{{ range $o, $c := .Changed.Objects }}{{ $o.Name }}: {{ len $c }}{{ end }} {{ len .Changed.Changes }}",
			data: TemplateData{Changed: spread}, want: "podinfo: 2 2",
		},
		{name: "sprig functions", tmpl: `{{ "Hello" | upper | repeat 2 }} {{ list 1 2 3 | join "," }}`, want: "HELLOHELLO 1,2,3"},
		{
			name: "sprig's non-hermetic functions are absent", tmpl: `{{ now }}`,
			wantErr: func(err error) bool {
				return strings.HasPrefix(err.Error(), "unable to create commit message template from spec:")
			},
		},
		{
			name: "a failing template says so", tmpl: `{{ fail "no" }}`,
			wantErr: func(err error) bool { return strings.HasPrefix(err.Error(), "failed to run template from spec:") },
		},
		{
			name: "image ref methods", tmpl: `{{ range .Updated.Images }}{{ .Identifier }} {{ .Repository }} {{ .Registry }} {{ .Name }}{{ end }}`,
			data: TemplateData{Updated: legacy}, want: "1.0.1 library/helloworld index.docker.io index.docker.io/library/helloworld:1.0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderMessage(tt.tmpl, tt.data)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("err = %v, not the error wanted (message %q)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("message (-want +got):\n%s", d)
			}
		})
	}
}

{{/* A security context as the cluster takes it: the chart's "enabled" switch left out. */}}
{{- define "common.compatibility.renderSecurityContext" -}}
{{- omit .secContext "enabled" | toYaml -}}
{{- end -}}

{{/*
Cross-field rules that values.schema.json cannot express. Every broken rule
adds one sentence; the render fails once with all of them.
*/}}
{{- define "kubegrid.validateValues" -}}
{{- $errors := list -}}
{{- $errors = concat $errors (include "kubegrid.validate.names" . | fromYamlArray) -}}
{{- $errors = concat $errors (include "kubegrid.validate.partitions" . | fromYamlArray) -}}
{{- $errors = concat $errors (include "kubegrid.validate.heap" (dict "key" "management" "values" .Values.management) | fromYamlArray) -}}
{{- $errors = concat $errors (include "kubegrid.validate.heap" (dict "key" "partitions" "values" .Values.partitions) | fromYamlArray) -}}
{{- $errors = concat $errors (include "kubegrid.validate.license" . | fromYamlArray) -}}
{{- $errors = concat $errors (include "kubegrid.validate.optional" . | fromYamlArray) -}}
{{- if $errors -}}
{{- fail (printf "\n\nkubegrid: invalid values:\n- %s" (join "\n- " $errors)) -}}
{{- end -}}
{{- end -}}

{{/*
Object names must fit Kubernetes limits without truncation (Spark locators and
the stack rely on the exact names). The longest StatefulSet name is the last
partition's; it may have at most 52 characters, because its pods carry
"<name>-<10-character hash>" in a 63-character label. Every other name of the
chart is then short enough too (the longest, "<fullname>-management-headless",
stays under 63).
*/}}
{{- define "kubegrid.validate.names" -}}
{{- $errors := list -}}
{{- $longest := include "kubegrid.partition.fullname" (dict "context" . "partition" .Values.partitions.count) -}}
{{- if gt (len $longest) 52 -}}
{{- $errors = append $errors (printf "the name prefix %q is too long: StatefulSet %q has %d characters, and Kubernetes allows 52. Use a shorter release name or set fullnameOverride." (include "kubegrid.fullname" .) $longest (len $longest)) -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/* Rules between partition values. */}}
{{- define "kubegrid.validate.partitions" -}}
{{- $errors := list -}}
{{- $p := .Values.partitions -}}
{{- if and $p.zoneAware (eq (int $p.backups) 0) -}}
{{- $errors = append $errors "partitions.zoneAware is true but partitions.backups is 0: zone awareness keeps a partition's primary and backup in different zones, so it needs partitions.backups: 1." -}}
{{- end -}}
{{- if ge (int $p.preStopDelaySeconds) (int $p.terminationGracePeriodSeconds) -}}
{{- $errors = append $errors (printf "partitions.preStopDelaySeconds (%d) must be shorter than partitions.terminationGracePeriodSeconds (%d), or the pod is killed before the grid can hand over." (int $p.preStopDelaySeconds) (int $p.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/*
The JVM heap derived from a memory limit must be at least 256Mi and leave at
least 256Mi outside the heap. Call with (dict "key" "management" "values" map).
*/}}
{{- define "kubegrid.validate.heap" -}}
{{- $errors := list -}}
{{- $memory := int64 (include "kubegrid.memoryMiB" .values.memory) -}}
{{- $heap := int64 (include "kubegrid.heapMiB" (dict "memory" .values.memory "percent" .values.heapPercent)) -}}
{{- if lt $heap 256 -}}
{{- $errors = append $errors (printf "%s.memory %s with %s.heapPercent %d gives a JVM heap of %dMi; the grid needs at least 256Mi. Raise %s.memory or %s.heapPercent." .key (toString .values.memory) .key (int .values.heapPercent) $heap .key .key) -}}
{{- else if lt (sub $memory $heap) 256 -}}
{{- $errors = append $errors (printf "%s.memory %s with %s.heapPercent %d leaves %dMi outside the JVM heap; the JVM needs at least 256Mi for metaspace, threads and buffers. Raise %s.memory or lower %s.heapPercent." .key (toString .values.memory) .key (int .values.heapPercent) (sub $memory $heap) .key .key) -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/* The license must come from somewhere. */}}
{{- define "kubegrid.validate.license" -}}
{{- $errors := list -}}
{{- if and (not .Values.license.existingSecret) (not .Values.license.value) -}}
{{- $errors = append $errors "license.existingSecret and license.value are both empty: name an existing Secret in license.existingSecret, or give license.value for the chart to create one (tryme is the evaluation license)." -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/* Rules of the optional parts. */}}
{{- define "kubegrid.validate.optional" -}}
{{- $errors := list -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- $errors = append $errors "metrics.serviceMonitor.enabled is true but metrics.enabled is false: the ServiceMonitor scrapes the metrics port, so enable metrics.enabled as well." -}}
{{- end -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls (not .Values.ingress.host) -}}
{{- $errors = append $errors "ingress.tls is true but ingress.host is empty: a TLS certificate is issued for a host name, so set ingress.host." -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/*
Cross-field rules that values.schema.json cannot express. Every broken rule
adds one sentence; the render fails once with all of them.
*/}}
{{- define "kubegrid.validateValues" -}}
{{- $errors := list -}}
{{- $errors = concat $errors (include "kubegrid.validate.version" . | fromYamlArray) -}}
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
Object names must fit Kubernetes limits without truncation (GigaSpaces and
Spark derive names from the manager name, so they must be exact). A
partition's StatefulSet name may have at most 52 characters, because its pods
carry "<name>-<10-character hash>" in a 63-character label; so may the
managers' StatefulSet. Service names are DNS labels of at most 63 characters;
the longest is the Spark locator Service "M-insightedge-manager-hs".
The Service names must be the ones GigaSpaces derives from the manager name.
*/}}
{{- define "kubegrid.validate.names" -}}
{{- $errors := list -}}
{{- $m := include "kubegrid.management.fullname" . -}}
{{- $limits := list (list "StatefulSet" (include "kubegrid.partition.fullname" (dict "context" . "partition" .Values.partitions.count)) 52) (list "StatefulSet" $m 52) (list "Service" (include "kubegrid.management.sparkLocatorName" .) 63) (list "Service" (include "kubegrid.management.headlessName" .) 63) (list "Service" (include "kubegrid.management.serviceName" .) 63) -}}
{{- range $limits -}}
{{- $kind := index . 0 -}}{{- $name := index . 1 -}}{{- $max := index . 2 -}}
{{- if gt (len $name) $max -}}
{{- $errors = append $errors (printf "the name prefix %q is too long: %s %q has %d characters, and Kubernetes allows %d. Use a shorter release name or set fullnameOverride (or names.management)." (include "kubegrid.fullname" $) $kind $name (len $name) $max) -}}
{{- end -}}
{{- end -}}
{{- range $key, $suffix := dict "managementHeadless" "-hs" "managementService" "-service" "sparkLocatorService" "-insightedge-manager-hs" -}}
{{- $given := get $.Values.names $key -}}
{{- if and $given (ne $given (printf "%s%s" $m $suffix)) -}}
{{- $errors = append $errors (printf "names.%s is %q, but GigaSpaces' images derive this Service's name from the manager name %q, so it must be %q (or empty)." $key $given $m (printf "%s%s" $m $suffix)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $errors -}}
{{- end -}}

{{/*
The GigaSpaces version: 16.0.0 to 16.4.x, the releases whose images run as
gs_user and read the GS_* variables and entry-script arguments the chart sets.
*/}}
{{- define "kubegrid.validate.version" -}}
{{- $errors := list -}}
{{- if semverCompare "<15.0.0" .Values.version -}}
{{- $errors = append $errors (printf "version %q is not supported: images before 15.0 read XAP_* variables, not the GS_* variables this chart sets. Use a version from 16.0.0 to 16.4.x, such as 16.4.0." .Values.version) -}}
{{- else if not (semverCompare ">=16.0.0, <16.5.0" .Values.version) -}}
{{- $errors = append $errors (printf "version %q is not supported: the chart runs GigaSpaces 16.0.0 to 16.4.x (the 16.x images' gs_user, GS_* variables and entry-script arguments). Use a version such as 16.4.0." .Values.version) -}}
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
least 256Mi outside the heap (unless javaHeap gives the heap in GigaSpaces'
own form, which the chart passes as it is). Call with (dict "key" "management" "values" map).
*/}}
{{- define "kubegrid.validate.heap" -}}
{{- $errors := list -}}
{{- if not .values.javaHeap -}}
{{- $memory := int64 (include "kubegrid.memoryMiB" .values.memory) -}}
{{- $heap := int64 (include "kubegrid.heapMiB" (dict "memory" .values.memory "percent" .values.heapPercent)) -}}
{{- if lt $heap 256 -}}
{{- $errors = append $errors (printf "%s.memory %s with %s.heapPercent %d gives a JVM heap of %dMi; the grid needs at least 256Mi. Raise %s.memory or %s.heapPercent." .key (toString .values.memory) .key (int .values.heapPercent) $heap .key .key) -}}
{{- else if lt (sub $memory $heap) 256 -}}
{{- $errors = append $errors (printf "%s.memory %s with %s.heapPercent %d leaves %dMi outside the JVM heap; the JVM needs at least 256Mi for metaspace, threads and buffers. Raise %s.memory or lower %s.heapPercent." .key (toString .values.memory) .key (int .values.heapPercent) (sub $memory $heap) .key .key) -}}
{{- end -}}
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

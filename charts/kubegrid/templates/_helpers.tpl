{{/*
Shared helpers of the kubegrid chart. Component helpers are named
kubegrid.<component>.<thing>; generic ones kubegrid.<thing>.
*/}}

{{/* The chart name, or nameOverride. Used in names and the app.kubernetes.io/name label. */}}
{{- define "kubegrid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name prefix of every object: fullnameOverride, else the release name if it
contains the chart name, else "<release>-<chart name>" (Bitnami convention).
Not truncated: kubegrid.validateValues rejects names that would be too long,
because the Spark locators depend on the exact names.
*/}}
{{- define "kubegrid.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kubegrid.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "kubegrid.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels that select the pods of one component. Never add a label that changes
with the chart version here: StatefulSet selectors are immutable.
Call with (dict "context" $ "component" "management").
*/}}
{{- define "kubegrid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubegrid.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* Labels selecting every pod of this release (the grid's own pods). */}}
{{- define "kubegrid.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kubegrid.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Standard labels of an object's metadata. Call with
(dict "context" $ "component" "partition").
*/}}
{{- define "kubegrid.labels" -}}
{{ include "kubegrid.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Values.version | quote }}
app.kubernetes.io/part-of: kubegrid
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ include "kubegrid.chart" .context }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Labels of a pod template: the selector labels plus labels that do not change
with the chart version, so a chart upgrade that leaves the pod spec alone does
not restart the grid. Call with (dict "context" $ "component" "x" "extra" map).
*/}}
{{- define "kubegrid.podLabels" -}}
{{ include "kubegrid.selectorLabels" . }}
app.kubernetes.io/part-of: kubegrid
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations content from commonAnnotations (empty when none). */}}
{{- define "kubegrid.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end -}}

{{/* An image reference "repository:tag[@digest]" from a map with repository, tag and digest. */}}
{{- define "kubegrid.image" -}}
{{- $ref := printf "%s:%s" .repository (toString .tag) -}}
{{- if .digest -}}
{{- $ref = printf "%s@%s" $ref .digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* GigaSpaces' published image of a product ("smart-cache" or "insightedge"), without tag. */}}
{{- define "kubegrid.productImage" -}}
{{- if eq . "insightedge" -}}gigaspaces/insightedge-enterprise{{- else -}}gigaspaces/smart-cache-enterprise{{- end -}}
{{- end -}}

{{/* The grid image (managers, data pods): image.repository or the product's image, tagged with version. */}}
{{- define "kubegrid.gridImage" -}}
{{- include "kubegrid.image" (dict "repository" (.Values.image.repository | default (include "kubegrid.productImage" .Values.product)) "tag" .Values.version "digest" .Values.image.digest) -}}
{{- end -}}

{{/* The Zeppelin image: the insightedge image (Zeppelin, Spark), tagged with version unless zeppelin.image.tag is set. */}}
{{- define "kubegrid.zeppelinImage" -}}
{{- $i := .Values.zeppelin.image -}}
{{- include "kubegrid.image" (dict "repository" ($i.repository | default (include "kubegrid.productImage" "insightedge")) "tag" ($i.tag | default .Values.version) "digest" $i.digest) -}}
{{- end -}}

{{/* imagePullSecrets of every pod (empty when image.pullSecrets is empty). */}}
{{- define "kubegrid.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
The manager name M: names.management, else "<fullname>-manager". It names the
managers' StatefulSet and is the manager.name data pods and Spark jobs get;
GigaSpaces' images derive the Service names below from it.
*/}}
{{- define "kubegrid.management.fullname" -}}
{{- .Values.names.management | default (printf "%s-manager" (include "kubegrid.fullname" .)) -}}
{{- end -}}

{{/* Name of the managers' headless Service (the StatefulSet's serviceName): names.managementHeadless, else "M-hs". */}}
{{- define "kubegrid.management.headlessName" -}}
{{- .Values.names.managementHeadless | default (printf "%s-hs" (include "kubegrid.management.fullname" .)) -}}
{{- end -}}

{{/* Name of the managers' client Service (REST manager, lookup service): names.managementService, else "M-service". */}}
{{- define "kubegrid.management.serviceName" -}}
{{- .Values.names.managementService | default (printf "%s-service" (include "kubegrid.management.fullname" .)) -}}
{{- end -}}

{{/*
Name of the headless Service of the managers' lookup services that the Spark
connector (16.3 and later) derives from spark.insightedge.space.manager=M:
names.sparkLocatorService, else "M-insightedge-manager-hs".
*/}}
{{- define "kubegrid.management.sparkLocatorName" -}}
{{- .Values.names.sparkLocatorService | default (printf "%s-insightedge-manager-hs" (include "kubegrid.management.fullname" .)) -}}
{{- end -}}

{{/* Number of managers: 3 with management.ha, else 1. */}}
{{- define "kubegrid.management.replicas" -}}
{{- if .Values.management.ha }}3{{ else }}1{{ end -}}
{{- end -}}

{{/*
Comma-separated fully qualified host names of the managers
("M-<i>.M-hs.<ns>.svc.<domain>"), GS_MANAGER_SERVERS of every grid pod.
*/}}
{{- define "kubegrid.management.hosts" -}}
{{- $hosts := list -}}
{{- $sts := include "kubegrid.management.fullname" . -}}
{{- $svc := include "kubegrid.management.headlessName" . -}}
{{- range $i := until (int (include "kubegrid.management.replicas" .)) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s.%s.svc.%s" $sts $i $svc $.Release.Namespace $.Values.clusterDomain) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{/* Comma-separated lookup locators: every manager host on the lookup port. */}}
{{- define "kubegrid.lookupLocators" -}}
{{- $locators := list -}}
{{- range (splitList "," (include "kubegrid.management.hosts" .)) -}}
{{- $locators = append $locators (printf "%s:%d" . (int $.Values.ports.lookup)) -}}
{{- end -}}
{{- join "," $locators -}}
{{- end -}}

{{/* Name of the StatefulSet of one partition. Call with (dict "context" $ "partition" N). */}}
{{- define "kubegrid.partition.fullname" -}}
{{- printf "%s-partition-%d" (include "kubegrid.fullname" .context) (int .partition) -}}
{{- end -}}

{{/* Name of the headless Service shared by all data pods (their stable DNS names). */}}
{{- define "kubegrid.partition.headlessName" -}}
{{- printf "%s-partition-headless" (include "kubegrid.fullname" .) -}}
{{- end -}}

{{/* Selector labels of the pods of one partition. Call with (dict "context" $ "partition" N). */}}
{{- define "kubegrid.partition.selectorLabels" -}}
{{ include "kubegrid.selectorLabels" (dict "context" .context "component" "partition") }}
kubegrid.io/partition: {{ .partition | toString | quote }}
{{- end -}}

{{/*
A memory quantity (Mi, Gi, M or G, as values.schema.json allows) in whole MiB.
*/}}
{{- define "kubegrid.memoryMiB" -}}
{{- $q := toString . -}}
{{- $digits := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $digits $q -}}
{{- $n := int64 $digits -}}
{{- if eq $unit "Gi" -}}{{ mul $n 1024 }}
{{- else if eq $unit "Mi" -}}{{ $n }}
{{- else if eq $unit "G" -}}{{ div (mul $n 1000000000) 1048576 }}
{{- else if eq $unit "M" -}}{{ div (mul $n 1000000) 1048576 }}
{{- else -}}{{ fail (printf "kubegrid: memory %q must be a whole number of Mi, Gi, M or G, for example 4Gi." $q) }}
{{- end -}}
{{- end -}}

{{/* JVM heap in MiB: heapPercent of the memory limit. Call with (dict "memory" q "percent" p). */}}
{{- define "kubegrid.heapMiB" -}}
{{- div (mul (int64 (include "kubegrid.memoryMiB" .memory)) (int64 .percent)) 100 -}}
{{- end -}}

{{/* Name of the Secret holding the license. */}}
{{- define "kubegrid.license.secretName" -}}
{{- default (printf "%s-license" (include "kubegrid.fullname" .)) .Values.license.existingSecret -}}
{{- end -}}

{{/*
Pod annotation that rolls the pods when the chart-created license changes
(nothing when the license comes from an existing Secret).
*/}}
{{- define "kubegrid.license.checksumAnnotation" -}}
{{- if not .Values.license.existingSecret }}
checksum/license: {{ include (print .Template.BasePath "/license-secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{/* Name of the ServiceAccount of a component: "grid" (test pod), "management", "partition" or "zeppelin". */}}
{{- define "kubegrid.serviceAccountName" -}}
{{- if eq .component "grid" -}}
{{- include "kubegrid.fullname" .context -}}
{{- else -}}
{{- printf "%s-%s" (include "kubegrid.fullname" .context) .component -}}
{{- end -}}
{{- end -}}

{{/* Pod securityContext meeting the "restricted" Pod Security profile. */}}
{{- define "kubegrid.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
fsGroupChangePolicy: {{ .Values.securityContext.fsGroupChangePolicy }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Container securityContext meeting the "restricted" Pod Security profile. Call
with the root context (read-only root) or with (dict "context" $
"readOnlyRootFilesystem" bool) for a component's own setting.
*/}}
{{- define "kubegrid.containerSecurityContext" -}}
{{- $ctx := . -}}
{{- $readOnly := true -}}
{{- if hasKey . "context" -}}
{{- $ctx = .context -}}
{{- $readOnly = .readOnlyRootFilesystem -}}
{{- end -}}
runAsNonRoot: true
runAsUser: {{ $ctx.Values.securityContext.runAsUser }}
runAsGroup: {{ $ctx.Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ $readOnly }}
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The license from its Secret, as env GS_LICENSE (never a plain value; args use "$(GS_LICENSE)"). */}}
{{- define "kubegrid.licenseEnv" -}}
- name: GS_LICENSE
  valueFrom:
    secretKeyRef:
      name: {{ include "kubegrid.license.secretName" . }}
      key: {{ .Values.license.existingSecretKey }}
{{- end -}}

{{/*
Environment shared by the grid containers: the license from its Secret, the
managers (GS_MANAGER_SERVERS; never GS_LOOKUP_LOCATORS as well, which
GigaSpaces says not to set next to it), the JVM options (multicast off, the
fixed LRMI port range the NetworkPolicies open) and HOME on a writable
volume. Call with (dict "context" $ "javaOptions" "...").
*/}}
{{- define "kubegrid.gridEnv" -}}
{{ include "kubegrid.licenseEnv" .context }}
- name: GS_MANAGER_SERVERS
  value: {{ include "kubegrid.management.hosts" .context | quote }}
- name: GS_OPTIONS_EXT
  value: {{ trim (printf "-Dcom.gs.multicast.enabled=false -Dcom.gs.transport_protocol.lrmi.bind-port=%s %s" (include "kubegrid.lrmiPortRange" .context) .javaOptions) | quote }}
- name: HOME
  value: {{ .context.Values.grid.userHome | quote }}
{{- end -}}

{{/*
The java.heap argument: the component's javaHeap value, else heapPercent of
its memory limit as an absolute "<MiB>m". Call with a component values map.
*/}}
{{- define "kubegrid.javaHeap" -}}
{{- .javaHeap | default (printf "%sm" (include "kubegrid.heapMiB" (dict "memory" .memory "percent" .heapPercent))) -}}
{{- end -}}

{{/*
Writable emptyDirs of a grid pod (see docs/gigaspaces.md for each path):
logs, deploy (seeded from the image), the user's HOME and /tmp; work too
unless persistence puts it on a claim. Call with (dict "context" $ "work" bool).
*/}}
{{- define "kubegrid.gridVolumes" -}}
{{- if .work }}
- name: work
  emptyDir: {}
{{- end }}
- name: logs
  emptyDir:
    sizeLimit: 1Gi
- name: deploy
  emptyDir:
    sizeLimit: 1Gi
- name: home
  emptyDir:
    sizeLimit: 256Mi
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{/* Mounts of kubegrid.gridVolumes at the paths GigaSpaces writes to. */}}
{{- define "kubegrid.gridVolumeMounts" -}}
- name: work
  mountPath: {{ .Values.grid.home }}/work
- name: logs
  mountPath: {{ .Values.grid.home }}/logs
- name: deploy
  mountPath: {{ .Values.grid.home }}/deploy
- name: home
  mountPath: {{ .Values.grid.userHome }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/*
Init container that copies what the image ships in directories the chart
mounts writable over (so the image's files stay visible there). Call with
(dict "context" $ "readOnlyRootFilesystem" bool "image" ref "pullPolicy" p
"resources" map "dirs" (list (dict "volume" name "path" imagePath "ifEmpty" bool))).
*/}}
{{- define "kubegrid.seedContainer" -}}
- name: seed-writable-dirs
  image: {{ .image | quote }}
  imagePullPolicy: {{ .pullPolicy }}
  command:
    - /bin/sh
    - -ec
  args:
    - |
      {{- range .dirs }}
      {{- if .ifEmpty }}
      if [ -z "$(ls -A /seed/{{ .volume }})" ]; then cp -R {{ .path }}/. /seed/{{ .volume }}/; fi
      {{- else }}
      if [ -d {{ .path }} ]; then cp -R {{ .path }}/. /seed/{{ .volume }}/; fi
      {{- end }}
      {{- end }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- include "kubegrid.containerSecurityContext" (dict "context" .context "readOnlyRootFilesystem" .readOnlyRootFilesystem) | nindent 4 }}
  volumeMounts:
    {{- range .dirs }}
    - name: {{ .volume }}
      mountPath: /seed/{{ .volume }}
    {{- end }}
{{- end -}}

{{/* The LRMI port range of the grid JVMs ("8200-8299"). */}}
{{- define "kubegrid.lrmiPortRange" -}}
{{- printf "%d-%d" (int .Values.ports.lrmi.first) (int .Values.ports.lrmi.last) -}}
{{- end -}}

{{/*
Projected volume carrying a short-lived Kubernetes API token, the cluster CA
and the namespace, mounted only in the pods that use the API (managers and
data pods); every ServiceAccount of the chart has automounting switched off.
*/}}
{{- define "kubegrid.apiTokenVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: {{ .Values.serviceAccount.tokenExpirationSeconds }}
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.namespace
{{- end -}}

{{/* Mount of kubegrid.apiTokenVolume at the path Kubernetes clients read. */}}
{{- define "kubegrid.apiTokenVolumeMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end -}}

{{/*
An HTTP probe from a probe values map. Call with
(dict "probe" map "path" "/v2/info" "port" "rest").
*/}}
{{- define "kubegrid.probe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
successThreshold: 1
{{- end -}}

{{/*
storageClassName line of a claim: omitted for "" (cluster default), empty
string for "-" (no dynamic provisioning), else the class.
*/}}
{{- define "kubegrid.storageClass" -}}
{{- $class := .Values.persistence.storageClass | default "" -}}
{{- if eq $class "-" }}
storageClassName: ""
{{- else if $class }}
storageClassName: {{ $class | quote }}
{{- end }}
{{- end -}}

{{/*
NetworkPolicy peers of the grid's own pods and of the grid-client namespaces.
*/}}
{{- define "kubegrid.networkPolicy.gridPeers" -}}
- podSelector:
    matchLabels:
      {{- include "kubegrid.releaseSelectorLabels" . | nindent 6 }}
- namespaceSelector:
    matchLabels:
      {{ .Values.gridClients.namespaceLabel }}: "true"
{{- end -}}

{{/*
Egress rules shared by every NetworkPolicy of the chart: DNS, the release's
own pods, external egress when allowed, and networkPolicy.extraEgress.
*/}}
{{- define "kubegrid.networkPolicy.commonEgress" -}}
- to:
    - namespaceSelector:
        {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 8 }}
      podSelector:
        {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 8 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- to:
    - podSelector:
        matchLabels:
          {{- include "kubegrid.releaseSelectorLabels" . | nindent 10 }}
{{- if .Values.networkPolicy.allowExternalEgress }}
- {}
{{- end }}
{{- with .Values.networkPolicy.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Egress rule to the Kubernetes API server ports (managers and data pods). */}}
{{- define "kubegrid.networkPolicy.apiServerEgress" -}}
- ports:
    {{- range .Values.networkPolicy.kubeAPIServerPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end -}}

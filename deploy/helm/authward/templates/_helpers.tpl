{{/*
Named templates. Templates of this chart keep to a small subset of Helm's language, the subset the
offline test renderer (test/helpers/go-template.ts) knows: see README.md. Optional keys are read with
`index` (nil when missing), so the chart also renders under `helm lint --strict` (missingkey=error).
*/}}

{{- define "authward.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "authward.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "authward.labels" -}}
{{ include "authward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "authward.secretName" -}}
{{- default (include "authward.fullname" .) .Values.secret.name -}}
{{- end -}}

{{- define "authward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "authward.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* <repository>:<tag>, or <repository>:<tag>@<digest> when a digest pins it. */}}
{{- define "authward.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/*
authward's config.yaml: .Values.config plus what the chart owns (listen, health, metrics, the
secret files, and upstream.url in sidecar mode).
*/}}
{{- define "authward.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- if hasKey $c "listen" }}{{ fail "config.listen: set ports.http instead (the chart writes listen)" }}{{ end -}}
{{- if hasKey $c "health" }}{{ fail "config.health: set health.* instead (the probes use them)" }}{{ end -}}
{{- if hasKey $c "metrics" }}{{ fail "config.metrics: set metrics.* and ports.metrics instead" }}{{ end -}}
{{- $tokenCache := default (dict) (index $c "tokenCache") -}}
{{- $redis := eq (default "memory" (index $tokenCache "type")) "redis" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not $redis) -}}
{{- fail "replicaCount above 1 needs config.tokenCache.type redis (replicas share tokens and sign-outs)" -}}
{{- end -}}
{{- $_ := set $c "listen" (dict "host" "0.0.0.0" "port" .Values.ports.http) -}}
{{- $_ := set $c "health" (dict "livenessPath" .Values.health.livenessPath "readinessPath" .Values.health.readinessPath) -}}
{{- $_ := set $c "metrics" (dict "enabled" .Values.metrics.enabled "host" "0.0.0.0" "port" .Values.ports.metrics "path" .Values.metrics.path) -}}
{{- if .Values.app.enabled -}}
{{- $_ := set $c "upstream" (set (default (dict) (index $c "upstream")) "url" (printf "http://127.0.0.1:%d" (int .Values.app.port))) -}}
{{- end -}}
{{- $dir := .Values.secret.mountPath -}}
{{- $keys := .Values.secret.keys -}}
{{- if $keys.clientSecret -}}
{{- $_ := set $c "identity" (set (default (dict) (index $c "identity")) "clientSecretFile" (printf "%s/%s" $dir $keys.clientSecret)) -}}
{{- end -}}
{{- if $keys.sessionKeys -}}
{{- $_ := set $c "session" (set (default (dict) (index $c "session")) "keysFile" (printf "%s/%s" $dir $keys.sessionKeys)) -}}
{{- end -}}
{{- if and $redis $keys.tokenCacheKeys -}}
{{- $_ := set $tokenCache "encryptionKeysFile" (printf "%s/%s" $dir $keys.tokenCacheKeys) -}}
{{- end -}}
{{- if and $redis $keys.redisPassword -}}
{{- $_ := set $tokenCache "passwordFile" (printf "%s/%s" $dir $keys.redisPassword) -}}
{{- end -}}
{{- $_ := set $c "tokenCache" $tokenCache -}}
{{ toYaml $c }}
{{- end -}}

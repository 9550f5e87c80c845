{{/* Names and labels. */}}
{{- define "chat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "chat.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "chat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "chat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "ws"). */}}
{{- define "chat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chat.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chat.componentLabels" -}}
{{ include "chat.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chat.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "chat.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secret" (include "chat.fullname" .)) -}}
{{- end -}}

{{/* Where Redis is, checked once: Sentinel or one URL, never neither. */}}
{{/* A list value that must not be empty (`required` lets an empty list through). */}}
{{- define "chat.nonEmpty" -}}
{{- if not .value -}}
{{- fail (printf "%s is required (a non-empty list)" .name) -}}
{{- end -}}
{{- end -}}

{{- define "chat.redisCheck" -}}
{{- if and (not .Values.redis.sentinels) (not .Values.redis.url) -}}
{{- fail "redis.sentinels (host:port list) or redis.url is required" -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap's data: every non-secret setting shared by all processes. */}}
{{- define "chat.configData" -}}
{{- include "chat.redisCheck" . -}}
DJANGO_SETTINGS_MODULE: config.settings.production
HOST: "0.0.0.0"
PORT: "8000"
CSRF_TRUSTED_ORIGINS: {{ join "," .Values.config.csrfTrustedOrigins | quote }}
WS_ALLOWED_ORIGINS: {{ join "," .Values.config.wsAllowedOrigins | quote }}
DB_CONN_MAX_AGE: {{ .Values.database.connMaxAge | quote }}
{{- if .Values.redis.sentinels }}
REDIS_SENTINELS: {{ join "," .Values.redis.sentinels | quote }}
REDIS_MASTER_NAME: {{ .Values.redis.masterName | quote }}
{{- else }}
REDIS_URL: {{ .Values.redis.url | quote }}
{{- end }}
REDIS_DB: {{ .Values.redis.db | quote }}
REDIS_KEY_PREFIX: {{ .Values.redis.keyPrefix | quote }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
ACCESS_LOG_LEVEL: {{ .Values.config.accessLogLevel | quote }}
{{- with .Values.config.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.config.vapidSubject }}
VAPID_SUBJECT: {{ . | quote }}
{{- end }}
CHAT_WORKER_METRICS_PORT: {{ .Values.worker.metricsPort | quote }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The Secret's data (base64), when the chart makes it. */}}
{{- define "chat.secretData" -}}
SECRET_KEY: {{ required "secrets.secretKey is required (or secrets.existingSecret)" .Values.secrets.secretKey | b64enc | quote }}
DATABASE_URL: {{ required "secrets.databaseUrl is required (or secrets.existingSecret)" .Values.secrets.databaseUrl | b64enc | quote }}
VAPID_PRIVATE_KEY: {{ required "secrets.vapidPrivateKey is required (or secrets.existingSecret)" .Values.secrets.vapidPrivateKey | b64enc | quote }}
METRICS_TOKEN: {{ required "secrets.metricsToken is required (or secrets.existingSecret): /metrics answers only its bearer" .Values.secrets.metricsToken | b64enc | quote }}
{{- with .Values.secrets.redisPassword }}
REDIS_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Pod annotations that roll the pods when the configuration changes. */}}
{{- define "chat.checksums" -}}
checksum/config: {{ include "chat.configData" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include "chat.secretData" . | sha256sum }}
{{- end }}
{{- end -}}

{{/* Env of every container: the ConfigMap, the Secret, and ALLOWED_HOSTS with the pod's own IP
     (kubelet probes and Prometheus scrapes address the pod by IP; Django checks the Host). */}}
{{- define "chat.env" -}}
envFrom:
  - configMapRef:
      name: {{ .configMap }}
  - secretRef:
      name: {{ .secret }}
{{- include "chat.nonEmpty" (dict "name" "config.allowedHosts" "value" .root.Values.config.allowedHosts) }}
env:
  - name: POD_IP
    valueFrom:
      fieldRef:
        fieldPath: status.podIP
  - name: ALLOWED_HOSTS
    value: {{ printf "%s,$(POD_IP)" (join "," .root.Values.config.allowedHosts) | quote }}
{{- end -}}

{{- define "chat.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "chat.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Zone and node spread of one component: (dict "root" $ "component" "ws"). */}}
{{- define "chat.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range $key, $spread := dict "topology.kubernetes.io/zone" .root.Values.topologySpread.zone "kubernetes.io/hostname" .root.Values.topologySpread.node }}
  - topologyKey: {{ $key }}
    maxSkew: {{ $spread.maxSkew }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "chat.selectorLabels" $ | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Scheduling knobs of one component's values. */}}
{{- define "chat.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Has the cluster KEDA? */}}
{{- define "chat.keda" -}}
{{- if .Capabilities.APIVersions.Has "keda.sh/v1alpha1" -}}true{{- end -}}
{{- end -}}

{{/* A PromQL selector of one component's pods: (dict "root" $ "component" "ws"). */}}
{{- define "chat.podSelector" -}}
namespace="{{ .root.Release.Namespace }}",pod=~"{{ include "chat.fullname" .root }}-{{ .component }}-.*"
{{- end -}}

{{/* autoscaling/v2 behavior from {scaleUp,scaleDown}: {stabilizationWindowSeconds, podsPerPeriod | percentPerPeriod, periodSeconds}. */}}
{{- define "chat.behavior" -}}
{{- range $direction, $b := . }}
{{ $direction }}:
  stabilizationWindowSeconds: {{ $b.stabilizationWindowSeconds }}
  selectPolicy: {{ if eq $direction "scaleDown" }}Min{{ else }}Max{{ end }}
  policies:
    {{- if hasKey $b "podsPerPeriod" }}
    - {type: Pods, value: {{ $b.podsPerPeriod }}, periodSeconds: {{ $b.periodSeconds }}}
    {{- end }}
    {{- if hasKey $b "percentPerPeriod" }}
    - {type: Percent, value: {{ $b.percentPerPeriod }}, periodSeconds: {{ $b.periodSeconds }}}
    {{- end }}
{{- end }}
{{- end -}}

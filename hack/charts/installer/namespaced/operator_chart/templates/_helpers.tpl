{{/* Names users know from the original operator: sagemaker-k8s-operator-<name>. */}}
{{- define "smk8s.name" -}}
sagemaker-k8s-operator-{{ . }}
{{- end }}

{{- define "smk8s.serviceAccountName" -}}
sagemaker-k8s-operator-default
{{- end }}

{{- define "smk8s.labels" -}}
app.kubernetes.io/name: sagemaker-k8s-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "smk8s.selectorLabels" -}}
control-plane: controller-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The namespaces the manager watches: none (all namespaces) unless namespaced or listed. */}}
{{- define "smk8s.watchNamespaces" -}}
{{- if .Values.watchNamespaces -}}
{{- toJson .Values.watchNamespaces -}}
{{- else if .Values.namespaced -}}
{{- toJson (list .Release.Namespace) -}}
{{- else -}}
[]
{{- end -}}
{{- end }}

{{/* A suffix for cluster-scoped objects of a namespaced installation, so that several can coexist. */}}
{{- define "smk8s.clusterSuffix" -}}
{{- if or .Values.namespaced .Values.watchNamespaces -}}-{{ .Release.Namespace }}{{- end -}}
{{- end }}

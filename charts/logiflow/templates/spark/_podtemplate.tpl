{{/*
Driver and executor pods get their volumes, environment and security context through Spark's
own pod templates (spec.driver.template / spec.executor.template): Spark applies them natively,
with no dependency on the operator's mutating webhook.
*/}}
{{- define "logiflow.spark.podTemplate" -}}
{{- $root := index . 0 -}}
{{- $role := index . 1 -}}
metadata:
  labels:
    {{- include "logiflow.spark.labels" $root | nindent 4 }}
    logiflow.io/spark-role: {{ $role }}
    logiflow.io/client: "true"
    # Egress to Kafka and Elasticsearch (network/networkpolicy-*-clients.yaml).
    logiflow.io/kafka-client: "true"
    logiflow.io/elasticsearch-client: "true"
    {{- if $root.Values.archive.enabled }}
    # Egress to the archive's S3 endpoint (network/networkpolicy-archive.yaml).
    logiflow.io/archive-client: "true"
    {{- end }}
spec:
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- include "logiflow.imagePullSecrets" (list $root 2) }}
  containers:
    - name: spark-kubernetes-{{ $role }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      {{- if and (eq $role "driver") $root.Values.monitoring.enabled }}
      # LogiFlow's exporter; declared so the PodMonitor (which selects ports by number) finds it.
      ports:
        - name: metrics
          containerPort: {{ $root.Values.config.metrics.port }}
          protocol: TCP
      {{- end }}
      env:
        {{- include "logiflow.credentialEnv" (list $root "etl") | nindent 8 }}
        {{- include "logiflow.archive.credentialEnv" $root | nindent 8 }}
      volumeMounts:
        {{- include "logiflow.commonVolumeMounts" $root | nindent 8 }}
        - name: checkpoints
          mountPath: {{ $root.Values.spark.checkpoint.mountPath }}
        # Spark's working directory (files, spark-warehouse) must be writable under a read-only root.
        - name: work-dir
          mountPath: /opt/spark/work-dir
  volumes:
    {{- include "logiflow.commonVolumes" $root | nindent 4 }}
    - name: checkpoints
      persistentVolumeClaim:
        claimName: {{ include "logiflow.spark.checkpointClaim" $root }}
    - name: work-dir
      emptyDir: {}
{{- end }}

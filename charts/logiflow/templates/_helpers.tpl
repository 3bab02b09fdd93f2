{{/*
Names and labels. Every name that ties two components together (Kafka cluster -> strimzi.io/cluster
label, bootstrap address, CA and user Secrets; Elasticsearch name -> Kibana's elasticsearchRef,
HTTP service and CA Secret) is defined here once, so a template never spells another's name.
*/}}

{{- define "logiflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "logiflow.fullname" -}}
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

{{/* Name prefixed with the full name: logiflow.componentName (list $ "etl") */}}
{{- define "logiflow.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "logiflow.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "logiflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: include "logiflow.selectorLabels" (list $ "spark") */}}
{{- define "logiflow.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "logiflow.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Full label set of one component: include "logiflow.labels" (list $ "kafka") */}}
{{- define "logiflow.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "logiflow.chart" $root }}
{{ include "logiflow.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: logiflow
{{- end -}}

{{- define "logiflow.kafka.labels" -}}{{ include "logiflow.labels" (list . "kafka") }}{{- end -}}
{{- define "logiflow.elasticsearch.labels" -}}{{ include "logiflow.labels" (list . "elasticsearch") }}{{- end -}}
{{- define "logiflow.kibana.labels" -}}{{ include "logiflow.labels" (list . "kibana") }}{{- end -}}
{{- define "logiflow.spark.labels" -}}{{ include "logiflow.labels" (list . "spark") }}{{- end -}}
{{- define "logiflow.setup.labels" -}}{{ include "logiflow.labels" (list . "es-setup") }}{{- end -}}
{{- define "logiflow.shipper.labels" -}}{{ include "logiflow.labels" (list . "shipper") }}{{- end -}}
{{- define "logiflow.replay.labels" -}}{{ include "logiflow.labels" (list . "replay") }}{{- end -}}
{{- define "logiflow.test.labels" -}}{{ include "logiflow.labels" (list . "test") }}{{- end -}}
{{- define "logiflow.config.labels" -}}{{ include "logiflow.labels" (list . "config") }}{{- end -}}
{{- define "logiflow.kibanaDashboards.labels" -}}{{ include "logiflow.labels" (list . "kibana-dashboards") }}{{- end -}}
{{- define "logiflow.grafanaDashboard.labels" -}}{{ include "logiflow.labels" (list . "grafana-dashboard") }}{{- end -}}

{{/* ---------- Kafka (Strimzi) ---------- */}}

{{/* The Kafka CR name; also the strimzi.io/cluster label of node pools, topics and users. */}}
{{- define "logiflow.kafka.fullname" -}}{{ include "logiflow.fullname" . }}{{- end -}}

{{/* Strimzi names the bootstrap Service <cluster>-kafka-bootstrap. */}}
{{- define "logiflow.kafka.bootstrap" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:%v" (include "logiflow.kafka.fullname" .) .Release.Namespace .Values.kafka.listenerPort -}}
{{- end -}}

{{/* Strimzi publishes the cluster CA (PEM in key ca.crt) in <cluster>-cluster-ca-cert. */}}
{{- define "logiflow.kafka.caSecret" -}}{{ printf "%s-cluster-ca-cert" (include "logiflow.kafka.fullname" .) }}{{- end -}}

{{/* KafkaUser names; the User Operator writes each password to a Secret of the same name (key: password). */}}
{{- define "logiflow.kafka.etlUser" -}}{{ include "logiflow.componentName" (list . .Values.kafka.users.etl) }}{{- end -}}
{{- define "logiflow.kafka.shipperUser" -}}{{ include "logiflow.componentName" (list . .Values.kafka.users.shipper) }}{{- end -}}
{{- define "logiflow.kafka.replayUser" -}}{{ include "logiflow.componentName" (list . .Values.kafka.users.replay) }}{{- end -}}
{{/* The consumer group `logiflow replay-dead-letters` keeps its progress in (its default --group). */}}
{{- define "logiflow.kafka.replayGroup" -}}logiflow-replay{{- end -}}

{{/* KafkaTopic resource names are the topic names themselves (spec.topicName not needed). */}}
{{- define "logiflow.kafka.logsTopic" -}}{{ .Values.kafka.topics.logs.name }}{{- end -}}
{{- define "logiflow.kafka.deadLetterTopic" -}}{{ .Values.kafka.topics.deadLetters.name }}{{- end -}}
{{- define "logiflow.kafka.minuteCountsTopic" -}}{{ .Values.kafka.topics.minuteCounts.name }}{{- end -}}

{{/* Consumer group prefix of the ETL: the same constant the config model uses. */}}
{{- define "logiflow.kafka.consumerGroupPrefix" -}}logiflow-etl{{- end -}}
{{/* The group the ETL commits its progress to (kafka.consumer_group), for Kafka's lag tools
(Kafka Exporter, kafka-consumer-groups.sh); under the prefix, so the ETL user's ACL covers it. */}}
{{- define "logiflow.kafka.consumerGroup" -}}{{ include "logiflow.kafka.consumerGroupPrefix" . }}{{- end -}}

{{/* ---------- Elasticsearch / Kibana (ECK) ---------- */}}

{{/* The Elasticsearch CR name; Kibana's elasticsearchRef points at it. */}}
{{- define "logiflow.elasticsearch.fullname" -}}{{ include "logiflow.fullname" . }}{{- end -}}
{{- define "logiflow.kibana.fullname" -}}{{ include "logiflow.fullname" . }}{{- end -}}

{{/* ECK's HTTP Service is <es>-es-http, TLS by default. */}}
{{- define "logiflow.elasticsearch.url" -}}
{{- printf "https://%s-es-http.%s.svc:9200" (include "logiflow.elasticsearch.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* ECK publishes the HTTP CA (PEM in key ca.crt) in <es>-es-http-certs-public. */}}
{{- define "logiflow.elasticsearch.caSecret" -}}{{ printf "%s-es-http-certs-public" (include "logiflow.elasticsearch.fullname" .) }}{{- end -}}

{{/* Least-privilege users (file realm) and the Secret holding their roles. */}}
{{- define "logiflow.elasticsearch.etlUsername" -}}logiflow-etl{{- end -}}
{{- define "logiflow.elasticsearch.setupUsername" -}}logiflow-setup{{- end -}}
{{- define "logiflow.elasticsearch.rolesSecret" -}}{{ include "logiflow.componentName" (list . "es-roles") }}{{- end -}}
{{- define "logiflow.elasticsearch.etlSecret" -}}
{{- .Values.elasticsearch.users.etlExistingSecret | default (include "logiflow.componentName" (list . "es-etl-user")) -}}
{{- end -}}
{{- define "logiflow.elasticsearch.setupSecret" -}}
{{- .Values.elasticsearch.users.setupExistingSecret | default (include "logiflow.componentName" (list . "es-setup-user")) -}}
{{- end -}}
{{/* The exporter's user: cluster privilege `monitor` only (role logiflow_monitor). */}}
{{- define "logiflow.elasticsearch.monitorUsername" -}}logiflow-monitor{{- end -}}
{{- define "logiflow.elasticsearch.monitorSecret" -}}
{{- .Values.elasticsearch.users.monitorExistingSecret | default (include "logiflow.componentName" (list . "es-monitor-user")) -}}
{{- end -}}

{{/* ECK's Kibana HTTP Service is <kb>-kb-http, TLS by default with ECK's self-signed CA. */}}
{{- define "logiflow.kibana.url" -}}
{{- printf "https://%s-kb-http.%s.svc:5601" (include "logiflow.kibana.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* ECK publishes Kibana's HTTP CA (PEM in key ca.crt) in <kb>-kb-http-certs-public. */}}
{{- define "logiflow.kibana.caSecret" -}}{{ printf "%s-kb-http-certs-public" (include "logiflow.kibana.fullname" .) }}{{- end -}}

{{/*
Kibana users, in the same file realm: the dashboards hook imports saved objects as the import
user; people (and the dashboards' helm test) read them as the viewer.
*/}}
{{- define "logiflow.kibana.importUsername" -}}logiflow-kibana-import{{- end -}}
{{- define "logiflow.kibana.viewerUsername" -}}logiflow-viewer{{- end -}}
{{- define "logiflow.kibana.importSecret" -}}
{{- .Values.elasticsearch.users.kibanaImportExistingSecret | default (include "logiflow.componentName" (list . "kibana-import-user")) -}}
{{- end -}}
{{- define "logiflow.kibana.viewerSecret" -}}
{{- .Values.elasticsearch.users.kibanaViewerExistingSecret | default (include "logiflow.componentName" (list . "kibana-viewer-user")) -}}
{{- end -}}
{{/* Kibana's Elasticsearch application name (kibana-<kibana index>) for its privileges. */}}
{{- define "logiflow.kibana.application" -}}kibana-.kibana{{- end -}}
{{/*
Kibana feature privileges the import user needs: one per saved-object type in the file (write on
exactly those types), as a JSON list. A type the chart does not know fails the render, so a new
type is a decision, not a silent 403 at install time.
*/}}
{{- define "logiflow.kibana.importPrivileges" -}}
{{- $features := dict "index-pattern" "indexPatterns" "lens" "visualize_v2" "visualization" "visualize_v2" "dashboard" "dashboard_v2" "search" "discover_v2" "tag" "savedObjectsTagging" -}}
{{- $privileges := list -}}
{{- range $number, $line := .Files.Lines (include "logiflow.kibana.savedObjectsFile" .) -}}
{{- if trim $line -}}
{{- $object := fromJson $line -}}
{{- if hasKey $object "Error" -}}
{{- fail (printf "%s line %d is not JSON: %s" (include "logiflow.kibana.savedObjectsFile" $) (add1 $number) $object.Error) -}}
{{- end -}}
{{- if not (hasKey $object "exportedCount") -}}
{{- $feature := get $features (toString $object.type) -}}
{{- if not $feature -}}
{{- fail (printf "saved object type %q (line %d of %s) has no Kibana feature privilege in logiflow.kibana.importPrivileges: add one" (toString $object.type) (add1 $number) (include "logiflow.kibana.savedObjectsFile" $)) -}}
{{- end -}}
{{- $privileges = append $privileges (printf "feature_%s.all" $feature) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $privileges | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* Index patterns of the file's data views that lie outside config.elasticsearch.indexPrefix, comma-separated. */}}
{{- define "logiflow.kibana.foreignIndexPatterns" -}}
{{- $prefix := printf "%s-" .Values.config.elasticsearch.indexPrefix -}}
{{- $foreign := list -}}
{{- range .Files.Lines (include "logiflow.kibana.savedObjectsFile" .) -}}
{{- if trim . -}}
{{- $object := fromJson . -}}
{{- if eq (toString $object.type) "index-pattern" -}}
{{- range splitList "," (toString (dig "attributes" "title" "" $object)) -}}
{{- if not (hasPrefix $prefix (trim .)) -}}{{- $foreign = append $foreign (trim .) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "," $foreign -}}
{{- end -}}

{{/* The saved objects (files/kibana/saved-objects.ndjson) as a ConfigMap, and where pods mount it. */}}
{{- define "logiflow.kibana.savedObjectsFile" -}}files/kibana/saved-objects.ndjson{{- end -}}
{{- define "logiflow.kibana.savedObjectsConfigMap" -}}{{ include "logiflow.componentName" (list . "kibana-saved-objects") }}{{- end -}}

{{/* ---------- LogiFlow pods ---------- */}}

{{/* repository:tag of an image block; an empty tag means the chart's appVersion. */}}
{{- define "logiflow.imageRef" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- printf "%s:%s" $image.repository ($image.tag | default $root.Chart.AppVersion) -}}
{{- end -}}
{{- define "logiflow.image" -}}{{ include "logiflow.imageRef" (list . .Values.image) }}{{- end -}}

{{- define "logiflow.configMap" -}}{{ include "logiflow.componentName" (list . "config") }}{{- end -}}
{{- define "logiflow.spark.serviceAccount" -}}{{ include "logiflow.componentName" (list . "spark") }}{{- end -}}
{{- define "logiflow.spark.checkpointClaim" -}}{{ include "logiflow.componentName" (list . "checkpoints") }}{{- end -}}

{{/* Where the config and the two CAs are mounted in every LogiFlow container. */}}
{{- define "logiflow.paths.config" -}}/etc/logiflow/config.yaml{{- end -}}
{{- define "logiflow.paths.kafkaCa" -}}/etc/logiflow/kafka-ca{{- end -}}
{{- define "logiflow.paths.esCa" -}}/etc/logiflow/es-ca{{- end -}}
{{- define "logiflow.paths.kibanaCa" -}}/etc/logiflow/kibana-ca{{- end -}}
{{- define "logiflow.paths.savedObjects" -}}/etc/logiflow/kibana/saved-objects.ndjson{{- end -}}

{{/*
Credentials as LOGIFLOW_* variables (config.py reads LOGIFLOW_<SECTION>__<KEY>), taken from the
operators' Secrets. Argument: (list $ ROLE), ROLE one of etl, shipper, setup, test, replay,
kibana-import, kibana-test. Each role gets only the identities it needs: the shipper/test write to
Kafka as the shipper user, the ETL reads as the etl user; the ETL/test use the writer in
Elasticsearch, the es-setup hook the setup user; the dashboards hook talks to Kibana only, as the
import user, and its helm test as the viewer.
*/}}
{{- define "logiflow.credentialEnv" -}}
{{- $root := index . 0 -}}
{{- $who := index . 1 -}}
{{- $kafkaUser := get (dict "etl" (include "logiflow.kafka.etlUser" $root) "shipper" (include "logiflow.kafka.shipperUser" $root) "test" (include "logiflow.kafka.shipperUser" $root) "replay" (include "logiflow.kafka.replayUser" $root)) $who -}}
{{- $esSecret := get (dict "etl" (include "logiflow.elasticsearch.etlSecret" $root) "setup" (include "logiflow.elasticsearch.setupSecret" $root) "test" (include "logiflow.elasticsearch.etlSecret" $root)) $who -}}
{{- $kibanaSecret := get (dict "kibana-import" (include "logiflow.kibana.importSecret" $root) "kibana-test" (include "logiflow.kibana.viewerSecret" $root)) $who -}}
- name: LOGIFLOW_CONFIG
  value: {{ include "logiflow.paths.config" $root }}
- name: HOME
  value: /tmp
{{- if and $root.Values.kafka.enabled $kafkaUser }}
- name: LOGIFLOW_KAFKA__SASL_USERNAME
  value: {{ $kafkaUser }}
- name: LOGIFLOW_KAFKA__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $kafkaUser }}
      key: password
{{- end }}
{{- if and $root.Values.elasticsearch.enabled $esSecret }}
- name: LOGIFLOW_ELASTICSEARCH__USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $esSecret }}
      key: username
- name: LOGIFLOW_ELASTICSEARCH__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $esSecret }}
      key: password
{{- end }}
{{- if and $root.Values.kibana.enabled $kibanaSecret }}
- name: LOGIFLOW_KIBANA__USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $kibanaSecret }}
      key: username
- name: LOGIFLOW_KIBANA__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $kibanaSecret }}
      key: password
{{- end }}
{{- end -}}

{{/* Volumes every LogiFlow pod mounts: config, CAs (PEM), and a writable /tmp. */}}
{{- define "logiflow.commonVolumes" -}}
- name: config
  configMap:
    name: {{ include "logiflow.configMap" . }}
{{- if .Values.kafka.enabled }}
- name: kafka-ca
  secret:
    secretName: {{ include "logiflow.kafka.caSecret" . }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- if .Values.elasticsearch.enabled }}
- name: es-ca
  secret:
    secretName: {{ include "logiflow.elasticsearch.caSecret" . }}
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "logiflow.commonVolumeMounts" -}}
- name: config
  mountPath: /etc/logiflow/config.yaml
  subPath: config.yaml
  readOnly: true
{{- if .Values.kafka.enabled }}
- name: kafka-ca
  mountPath: {{ include "logiflow.paths.kafkaCa" . }}
  readOnly: true
{{- end }}
{{- if .Values.elasticsearch.enabled }}
- name: es-ca
  mountPath: {{ include "logiflow.paths.esCa" . }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* What the pods calling Kibana mount besides the common volumes: Kibana's CA, the saved objects. */}}
{{- define "logiflow.kibanaVolumes" -}}
- name: kibana-ca
  secret:
    secretName: {{ include "logiflow.kibana.caSecret" . }}
    items:
      - key: ca.crt
        path: ca.crt
- name: saved-objects
  configMap:
    name: {{ include "logiflow.kibana.savedObjectsConfigMap" . }}
{{- end -}}

{{- define "logiflow.kibanaVolumeMounts" -}}
- name: kibana-ca
  mountPath: {{ include "logiflow.paths.kibanaCa" . }}
  readOnly: true
- name: saved-objects
  mountPath: {{ include "logiflow.paths.savedObjects" . | dir }}
  readOnly: true
{{- end -}}

{{/* imagePullSecrets block of a pod spec, or nothing. Use: include ... (list $ INDENT) */}}
{{- define "logiflow.imagePullSecrets" -}}
{{- $root := index . 0 -}}
{{- with $root.Values.image.pullSecrets }}
{{- $lines := list "imagePullSecrets:" }}
{{- range . }}{{ $lines = append $lines (printf "  - name: %s" .) }}{{ end }}
{{- join "\n" $lines | nindent (index $ 1) }}
{{- end }}
{{- end -}}

{{/*
Marks the pods this chart runs itself (ETL driver/executors, hook, shipper, test) for the
NetworkPolicies. A dedicated label, because Strimzi copies the CR labels (part-of, instance)
onto the Kafka pods, which must not match these policies.
*/}}
{{- define "logiflow.clientLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
logiflow.io/client: "true"
{{- end -}}

{{/* The LogiFlow pods that talk to Kafka (ETL, shipper, replay, helm test), for their egress. */}}
{{- define "logiflow.kafkaClientLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
logiflow.io/kafka-client: "true"
{{- end -}}

{{/* The LogiFlow pods that talk to Elasticsearch (ETL, setup hook, helm test), for their egress. */}}
{{- define "logiflow.elasticsearchClientLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
logiflow.io/elasticsearch-client: "true"
{{- end -}}

{{/* One role of the ETL's Spark pods (driver or executor), for the policies between them. */}}
{{- define "logiflow.sparkRoleLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/instance: {{ $root.Release.Name }}
logiflow.io/spark-role: {{ index . 1 }}
{{- end -}}

{{/* DNS egress: port 53 to the configured resolvers (networkPolicy.dnsTo). */}}
{{- define "logiflow.dnsEgress" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
  {{- with .Values.networkPolicy.dnsTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* The few LogiFlow pods that call Kibana (dashboards hook and its helm test), for its policy. */}}
{{- define "logiflow.kibanaClientLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
logiflow.io/kibana-client: "true"
{{- end -}}

{{/* ---------- Monitoring (Prometheus Operator) ---------- */}}

{{/* Labels of every monitoring object: the chart's, plus monitoring.labels (what a Prometheus selects by). */}}
{{- define "logiflow.monitoring.labels" -}}
{{ include "logiflow.labels" (list . "monitoring") }}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The `job` label of each scraped endpoint, set by the PodMonitors' relabelings; the alerts select
by it, so both sides take it from here.
*/}}
{{- define "logiflow.monitoring.etlJob" -}}{{ include "logiflow.componentName" (list . "etl") }}{{- end -}}
{{- define "logiflow.monitoring.sparkDriverJob" -}}{{ include "logiflow.componentName" (list . "spark-driver") }}{{- end -}}
{{- define "logiflow.monitoring.sparkExecutorsJob" -}}{{ include "logiflow.componentName" (list . "spark-executors") }}{{- end -}}
{{- define "logiflow.monitoring.shipperJob" -}}{{ include "logiflow.componentName" (list . "shipper") }}{{- end -}}
{{- define "logiflow.monitoring.kafkaJob" -}}{{ include "logiflow.componentName" (list . "kafka") }}{{- end -}}
{{- define "logiflow.monitoring.kafkaExporterJob" -}}{{ include "logiflow.componentName" (list . "kafka-exporter") }}{{- end -}}
{{- define "logiflow.monitoring.elasticsearchExporterJob" -}}{{ include "logiflow.monitoring.elasticsearchExporterName" . }}{{- end -}}
{{- define "logiflow.monitoring.elasticsearchExporterName" -}}{{ include "logiflow.componentName" (list . "elasticsearch-exporter") }}{{- end -}}
{{- define "logiflow.monitoring.elasticsearchExporterLabels" -}}{{ include "logiflow.labels" (list . "elasticsearch-exporter") }}{{- end -}}
{{/* Whether the chart runs Elasticsearch's exporter (and so its monitor user). */}}
{{- define "logiflow.monitoring.withElasticsearchExporter" -}}
{{- if and .Values.monitoring.enabled .Values.monitoring.elasticsearchExporter.enabled .Values.elasticsearch.enabled }}true{{ end -}}
{{- end -}}

{{/* A relabeling that names the endpoint's job: include "logiflow.monitoring.jobRelabeling" JOB */}}
{{- define "logiflow.monitoring.jobRelabeling" -}}
relabelings:
  - targetLabel: job
    replacement: {{ . }}
{{- end -}}

{{/* Strimzi labels each pod strimzi.io/name: <cluster>-kafka (brokers) or <cluster>-kafka-exporter. */}}
{{- define "logiflow.kafka.brokerPodName" -}}{{ printf "%s-kafka" (include "logiflow.kafka.fullname" .) }}{{- end -}}
{{- define "logiflow.kafka.exporterPodName" -}}{{ printf "%s-kafka-exporter" (include "logiflow.kafka.fullname" .) }}{{- end -}}

{{/*
The archive's S3 key pair from the user's Secret (archive.credentials), as the LOGIFLOW_ARCHIVE__*
variables config.py reads; nothing without a Secret (the pods' default AWS chain applies).
*/}}
{{- define "logiflow.archive.credentialEnv" -}}
{{- with .Values.archive -}}
{{- if and .enabled .credentials.secretName }}
- name: LOGIFLOW_ARCHIVE__ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .credentials.secretName }}
      key: {{ .credentials.accessKeyIdKey }}
- name: LOGIFLOW_ARCHIVE__SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .credentials.secretName }}
      key: {{ .credentials.secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- end }}

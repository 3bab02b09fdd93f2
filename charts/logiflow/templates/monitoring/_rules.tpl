{{/*
The alerts of the PrometheusRule (prometheusrule.yaml), one group each, as lists of rules; empty
where the group has nothing to watch. Thresholds and switches: monitoring.rules.
*/}}
{{- define "logiflow.monitoring.etlRules" -}}
{{- $rules := .Values.monitoring.rules }}
{{- $runbook := .Values.monitoring.runbookUrl }}
{{- $ns := .Release.Namespace }}
{{- /* Every LogiFlow ETL series comes from this release's driver only. */}}
{{- $etl := printf "job=%q, namespace=%q" (include "logiflow.monitoring.etlJob" .) $ns }}
{{- $withEtl := and .Values.spark.enabled .Values.monitoring.podMonitors.spark }}
{{- if and $withEtl $rules.consumerLagGrowing.enabled }}
{{- with $rules.consumerLagGrowing }}
- alert: LogiflowConsumerLagGrowing
  expr: >-
    sum by (namespace, topic) (delta(logiflow_etl_consumer_lag_records{ {{- $etl -}} }[{{ .window }}])) > 0
    and sum by (namespace, topic) (logiflow_etl_consumer_lag_records{ {{- $etl -}} }) > {{ .minRecords }}
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: The ETL falls behind on {{`{{ $labels.topic }}`}}.
    description: >-
      The ETL's consumer lag on {{`{{ $labels.topic }}`}} grew over the last {{ .window }}
      for {{ .for }} and is above {{ .minRecords }} records: it reads slower than logs arrive.
    runbook_url: {{ $runbook }}#logiflowconsumerlaggrowing
{{- end }}
{{- end }}
{{- if and $withEtl $rules.noBatch.enabled }}
{{- with $rules.noBatch }}
- alert: LogiflowNoBatch
  expr: >-
    time() - max by (namespace) (logiflow_etl_last_batch_timestamp_seconds{ {{- $etl -}} }) > {{ .seconds }}
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: No ETL micro-batch committed for {{ .seconds }}s.
    description: >-
      The last micro-batch committed {{`{{ $value | humanizeDuration }}`}} ago: the
      streaming query is stuck or stopped, or no logs arrive.
    runbook_url: {{ $runbook }}#logiflownobatch
{{- end }}
{{- end }}
{{- if and $withEtl $rules.deadLetterRate.enabled }}
{{- with $rules.deadLetterRate }}
- alert: LogiflowDeadLetterRateHigh
  expr: >-
    sum by (namespace) (rate(logiflow_etl_dead_letters_total{ {{- $etl -}} }[{{ .window }}]))
    / sum by (namespace) (rate(logiflow_etl_records_read_total{ {{- $etl -}} }[{{ .window }}]))
    > {{ .ratio }}
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: Too many records go to dead letters.
    description: >-
      {{`{{ $value | humanizePercentage }}`}} of the records read over the last
      {{ .window }} were dead-lettered (threshold {{ .ratio }}).
    runbook_url: {{ $runbook }}#logiflowdeadletterratehigh
{{- end }}
{{- end }}
{{- if and $withEtl $rules.elasticsearchRejections.enabled }}
{{- with $rules.elasticsearchRejections }}
- alert: LogiflowElasticsearchRejections
  expr: >-
    sum by (namespace) (increase(logiflow_etl_elasticsearch_rejections_total{ {{- $etl -}} }[{{ .window }}])) > {{ .threshold }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: Elasticsearch rejects LogiFlow documents.
    description: >-
      Elasticsearch rejected {{`{{ $value | humanize }}`}} documents for good over the
      last {{ .window }}; they went to dead letters.
    runbook_url: {{ $runbook }}#logiflowelasticsearchrejections
{{- end }}
{{- end }}
{{- if and $withEtl $rules.elasticsearchOutage.enabled }}
{{- with $rules.elasticsearchOutage }}
- alert: LogiflowElasticsearchOutage
  expr: >-
    max by (namespace) (logiflow_etl_sink_waiting{ {{- $etl -}} }) == 1
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: The ETL waits out an Elasticsearch outage.
    description: >-
      The Elasticsearch sink has been waiting for Elasticsearch for {{ .for }} or more;
      nothing is indexed until it answers again.
    runbook_url: {{ $runbook }}#logiflowelasticsearchoutage
{{- end }}
{{- end }}
{{- if and $withEtl $rules.queryRestarts.enabled }}
{{- with $rules.queryRestarts }}
- alert: LogiflowQueryRestarts
  expr: >-
    sum by (namespace) (increase(logiflow_etl_query_restarts_total{ {{- $etl -}} }[{{ .window }}])) > {{ .threshold }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: The ETL's streaming query keeps restarting.
    description: >-
      The streaming query restarted {{`{{ $value | humanize }}`}} times over the last
      {{ .window }} (threshold {{ .threshold }}).
    runbook_url: {{ $runbook }}#logiflowqueryrestarts
{{- end }}
{{- end }}
{{- if and $withEtl .Values.anomaly.enabled $rules.anomalies.enabled }}
{{- with $rules.anomalies }}
- alert: LogiflowAnomalyDetected
  expr: >-
    sum by (namespace, service, metric) (increase(logiflow_anomalies_detected_total{ {{- $etl -}}, severity=~"{{ join "|" .severities }}"}[{{ .window }}])) > 0
  labels:
    severity: {{ .severity }}
  annotations:
    summary: "{{`{{ $labels.service }}`}}: anomalous {{`{{ $labels.metric }}`}}."
    description: >-
      The anomaly detector found {{`{{ $value | humanize }}`}} anomalous windows of
      {{`{{ $labels.metric }}`}} for {{`{{ $labels.service }}`}} over the last {{ .window }}
      (severities {{ join ", " .severities }}); `logiflow anomalies --service` says what moved.
    runbook_url: {{ $runbook }}#logiflowanomalydetected
{{- end }}
{{- end }}
{{- if and $withEtl $rules.sparkDriverDown.enabled }}
{{- with $rules.sparkDriverDown }}
{{- $job := ternary (include "logiflow.monitoring.sparkDriverJob" $) (include "logiflow.monitoring.etlJob" $) $.Values.spark.metrics.enabled }}
{{- $up := printf "up{job=%q, namespace=%q}" $job $ns }}
- alert: LogiflowSparkDriverDown
  expr: >-
    {{ $up }} == 0 or absent({{ $up }})
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: The Spark driver of the ETL is down.
    description: >-
      Prometheus has not scraped the ETL's Spark driver for {{ .for }}: the
      SparkApplication failed, is being resubmitted, or its pod is unreachable.
    runbook_url: {{ $runbook }}#logiflowsparkdriverdown
{{- end }}
{{- end }}
{{- end -}}

{{- define "logiflow.monitoring.kafkaRules" -}}
{{- $rules := .Values.monitoring.rules }}
{{- $runbook := .Values.monitoring.runbookUrl }}
{{- $ns := .Release.Namespace }}
{{- if and .Values.kafka.enabled .Values.kafka.metrics .Values.monitoring.podMonitors.kafka $rules.kafkaUnderReplicated.enabled }}
{{- with $rules.kafkaUnderReplicated }}
- alert: LogiflowKafkaUnderReplicatedPartitions
  expr: >-
    sum by (namespace) (kafka_server_replicamanager_underreplicatedpartitions{job={{ include "logiflow.monitoring.kafkaJob" $ | quote }}, namespace={{ $ns | quote }}}) > 0
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: Kafka has under-replicated partitions.
    description: >-
      {{`{{ $value | humanize }}`}} partitions of the LogiFlow Kafka cluster have fewer
      in-sync replicas than configured: a broker is down or lagging.
    runbook_url: {{ $runbook }}#logiflowkafkaunderreplicatedpartitions
{{- end }}
{{- end }}
{{- end -}}

{{- define "logiflow.monitoring.elasticsearchRules" -}}
{{- $rules := .Values.monitoring.rules }}
{{- $runbook := .Values.monitoring.runbookUrl }}
{{- /* Every elasticsearch_* series comes from this release's exporter only. */}}
{{- $exporter := printf "job=%q, namespace=%q" (include "logiflow.monitoring.elasticsearchExporterJob" .) .Release.Namespace }}
{{- if include "logiflow.monitoring.withElasticsearchExporter" . }}
{{- if $rules.elasticsearchNotGreen.enabled }}
{{- with $rules.elasticsearchNotGreen }}
- alert: LogiflowElasticsearchNotGreen
  expr: >-
    max by (namespace, cluster) (elasticsearch_cluster_health_status{ {{- $exporter -}}, color="green"}) == 0
  for: {{ .for }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: Elasticsearch cluster {{`{{ $labels.cluster }}`}} is not green.
    description: >-
      The cluster's health has been yellow or red for {{ .for }}: some shards (red: some
      primaries) are not allocated, so replicas are missing or indexing fails.
    runbook_url: {{ $runbook }}#logiflowelasticsearchnotgreen
{{- end }}
{{- end }}
{{- if $rules.elasticsearchWriteRejections.enabled }}
{{- with $rules.elasticsearchWriteRejections }}
- alert: LogiflowElasticsearchWriteRejections
  expr: >-
    sum by (namespace, cluster) (increase(elasticsearch_thread_pool_rejected_count{ {{- $exporter -}}, type="write"}[{{ .window }}])) > {{ .threshold }}
  labels:
    severity: {{ .severity }}
  annotations:
    summary: Elasticsearch's write thread pool rejects requests.
    description: >-
      The nodes of {{`{{ $labels.cluster }}`}} rejected {{`{{ $value | humanize }}`}} write
      requests over the last {{ .window }}: their write queues are full and bulk requests get
      429s, which the ETL retries (its batches slow down).
    runbook_url: {{ $runbook }}#logiflowelasticsearchwriterejections
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

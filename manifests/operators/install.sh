#!/usr/bin/env bash
# Installs the three pinned operators (and the Prometheus Operator's monitoring CRDs) (and with them their CRDs) as their own Helm releases,
# waiting for each to be ready, BEFORE the logiflow chart is installed: a first install on an
# empty cluster then never fails with "no matches for kind". Idempotent (helm upgrade --install).
#
#   manifests/operators/install.sh [APP_NAMESPACE]     # default namespace: logiflow
#
# Clusters that already run the operators skip this step (staging profile, CI deploy-staging).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
app_namespace="${1:-logiflow}"
helm="${HELM:-$(command -v helm || echo "$here/../../.tools/bin/helm")}"

kubectl create namespace "$app_namespace" --dry-run=client -o yaml | kubectl apply -f -

"$helm" upgrade --install strimzi-kafka-operator \
  oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION" \
  --namespace strimzi-system --create-namespace \
  -f "$here/values-strimzi.yaml" --wait --timeout 10m

"$helm" upgrade --install elastic-operator eck-operator \
  --repo https://helm.elastic.co --version "$ECK_VERSION" \
  --namespace elastic-system --create-namespace \
  -f "$here/values-eck.yaml" --wait --timeout 10m

"$helm" upgrade --install spark-operator spark-operator \
  --repo https://kubeflow.github.io/spark-operator --version "$SPARK_OPERATOR_VERSION" \
  --namespace spark-operator --create-namespace \
  -f "$here/values-spark-operator.yaml" --set "spark.jobNamespaces={$app_namespace}" \
  --wait --timeout 10m

kubectl wait --for=condition=Established --timeout=120s \
  crd/kafkas.kafka.strimzi.io crd/kafkanodepools.kafka.strimzi.io \
  crd/kafkatopics.kafka.strimzi.io crd/kafkausers.kafka.strimzi.io \
  crd/elasticsearches.elasticsearch.k8s.elastic.co crd/kibanas.kibana.k8s.elastic.co \
  crd/sparkapplications.sparkoperator.k8s.io

# The chart's monitoring objects need only the Prometheus Operator's CRDs. A cluster that runs
# kube-prometheus-stack (or the operator) has them already: never replace those.
prometheus_crds="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v${PROMETHEUS_OPERATOR_VERSION}/example/prometheus-operator-crd"
for kind in podmonitors servicemonitors prometheusrules; do
  if ! kubectl get "crd/$kind.monitoring.coreos.com" >/dev/null 2>&1; then
    kubectl apply --server-side -f "$prometheus_crds/monitoring.coreos.com_$kind.yaml"
  fi
done

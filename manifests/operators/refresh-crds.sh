#!/usr/bin/env bash
# Re-downloads the pinned operators' CRDs into a folder laid out like ../shared/crds
# (strimzi-X/, eck-X/, spark-operator-X/, prometheus-operator-X/). Needs the operators' chart repositories, so it runs
# on a connected machine (`make refresh-crds`); the chart tests then validate against the result.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
target="${1:?usage: refresh-crds.sh TARGET_DIR}"
helm="${HELM:-$(command -v helm || echo "$here/../../.tools/bin/helm")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$helm" pull oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION" \
  --untar --untardir "$work/strimzi"
"$helm" pull spark-operator --repo https://kubeflow.github.io/spark-operator \
  --version "$SPARK_OPERATOR_VERSION" --untar --untardir "$work/spark"
"$helm" pull eck-operator-crds --repo https://helm.elastic.co --version "$ECK_VERSION" \
  --untar --untardir "$work/eck"

prometheus_crds="https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v${PROMETHEUS_OPERATOR_VERSION}/example/prometheus-operator-crd"
mkdir -p "$work/prometheus"
for kind in podmonitors servicemonitors prometheusrules; do
  curl -fsSL -o "$work/prometheus/monitoring.coreos.com_$kind.yaml" \
    "$prometheus_crds/monitoring.coreos.com_$kind.yaml"
done

rm -rf "$target/strimzi-$STRIMZI_VERSION" "$target/spark-operator-$SPARK_OPERATOR_VERSION" \
  "$target/eck-$ECK_VERSION" "$target/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
mkdir -p "$target/strimzi-$STRIMZI_VERSION" "$target/spark-operator-$SPARK_OPERATOR_VERSION" \
  "$target/eck-$ECK_VERSION" "$target/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
cp "$work"/strimzi/strimzi-kafka-operator/crds/*-Crd-*.yaml "$target/strimzi-$STRIMZI_VERSION/"
cp "$work"/spark/spark-operator/crds/*.yaml "$target/spark-operator-$SPARK_OPERATOR_VERSION/"
"$helm" template crds "$work/eck/eck-operator-crds" > "$target/eck-$ECK_VERSION/all-crds.yaml"
cp "$work"/prometheus/*.yaml "$target/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/"
echo "CRDs refreshed in $target"

#!/usr/bin/env bash
# Builds a pinned kube-apiserver and etcd from the Go module proxy into .tools/ (used by
# test_chart_apiserver.py for server-side dry-runs). Skips what is already built.
#
# kube-apiserver cannot be `go install`ed: k8s.io/kubernetes points its k8s.io/* staging
# modules at ./staging with replace directives, and the module zip leaves those folders out.
# So the module source is copied and each staging replace becomes a require of the same
# release's published module (k8s.io/api v0.34.4 for Kubernetes v1.34.4, and so on).
set -euo pipefail
TOOLS=${1:?usage: build.sh TOOLS_DIR K8S_VERSION ETCD_VERSION}
K8S_VERSION=${2:?}
ETCD_VERSION=${3:?}
GO_CACHE=${LOGIFLOW_GO_CACHE:-$TOOLS/go}
export GOPATH="$TOOLS/go" GOMODCACHE="$GO_CACHE/mod" GOCACHE="$GO_CACHE/build" GOFLAGS="-trimpath -mod=mod" GOTOOLCHAIN=local GOWORK=off

apiserver="$TOOLS/kube-apiserver-$K8S_VERSION/kube-apiserver"
if [ ! -x "$apiserver" ]; then
  src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work="$TOOLS/src/kubernetes-$K8S_VERSION"
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src"/. "$work" && chmod -R u+w "$work"
  cd "$work"
  rm -rf go.work go.work.sum vendor
  staging_version="v0.${K8S_VERSION#v1.}"
  for module in $(grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging' go.mod | awk '{print $1}'); do
    go mod edit -dropreplace="$module" -require="$module@$staging_version"
  done
  go mod tidy -e >/dev/null 2>&1 || true
  mkdir -p "$(dirname "$apiserver")"
  go build -o "$apiserver" ./cmd/kube-apiserver
  cd "$TOOLS" && rm -rf "$work"
fi

# etcd's server module has replace directives too (../api, ../client, ../pkg): same treatment,
# each becomes a require of the same etcd release.
etcd="$TOOLS/etcd-$ETCD_VERSION/etcd"
if [ ! -x "$etcd" ]; then
  src=$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work="$TOOLS/src/etcd-server-$ETCD_VERSION"
  rm -rf "$work" && mkdir -p "$work" && cp -r "$src"/. "$work" && chmod -R u+w "$work"
  cd "$work"
  for module in $(grep -oE '^\s*go.etcd.io/etcd/[a-z0-9/]+/v3 => \.\./' go.mod | awk '{print $1}'); do
    go mod edit -dropreplace="$module" -require="$module@$ETCD_VERSION"
  done
  go mod tidy -e >/dev/null 2>&1 || true
  mkdir -p "$(dirname "$etcd")"
  go build -o "$etcd" .
  cd "$TOOLS" && rm -rf "$work"
fi
echo "$apiserver"
echo "$etcd"

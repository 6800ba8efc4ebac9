# mocdc developer entry points. Local services (PostgreSQL, Kafka, MariaDB) are
# started by deploy/local/services; their connection settings are exported
# from $(MOCDC_DATA)/env, which every target below that needs them sources.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Where the services keep their data and env file; set MOCDC_DATA to move it
# (the CI rehearsal and a second checkout do). Exported so that
# deploy/local/services sees the same value.
MOCDC_DATA ?= $(CURDIR)/.mocdc
export MOCDC_DATA

SERVICES := $(CURDIR)/deploy/local/services
ENV_FILE := $(MOCDC_DATA)/env
MOCDC := $(MOCDC_DATA)/bin/mocdc

# `mocdc --version` prints these (the Go toolchain's own VCS stamping may be
# off: GOFLAGS=-buildvcs=false).
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -modified)
GIT_VERSION := $(shell git describe --tags --dirty 2>/dev/null)
LDFLAGS := -X main.commit=$(GIT_COMMIT) -X main.version=$(GIT_VERSION)

# The configuration `make run` runs; `make status|verify|config-check` read it.
CONFIG := deploy/local/mocdc.yaml
# The sources the binary is built from: `make status` rebuilds it only when
# they changed (and not at all where there are none: the docs test runs these
# targets in a directory that holds only the binary, this Makefile and its
# own configuration).
GO_SOURCES := $(shell find . -name '*.go' -not -path './.mocdc/*' 2>/dev/null) $(wildcard go.mod go.sum)
NEED_ENV = [ -f "$(ENV_FILE)" ] || { echo "no $(ENV_FILE): start the services first (make run, or make services)" >&2; exit 1; }

.PHONY: services services-down services-status test test-clean test-mssql run bench build vet status verify config-check chaos

# Start (or reuse) the local services; quick when they already run.
services:
	$(SERVICES) up

services-down:
	$(SERVICES) down

services-status:
	$(SERVICES) status

# Integration tests talk to the real services; deploy/local/testenv fails a
# test (never skips it) when the env is missing. -p 2: two cores.
test: services
	. "$(ENV_FILE)" && go test -count=1 -p 2 -timeout 25m ./...

# Remove what killed test runs left behind (their cleanup never ran): the
# Kafka topics and groups, PostgreSQL and MariaDB databases that
# deploy/local/testenv makes. Also those of tests running now: run it only
# when no test runs.
test-clean: services
	. "$(ENV_FILE)" && go run ./deploy/local/testenv/sweep

# Every SQL Server subtest of the mirror — golden T-SQL, error classes,
# conformance, table mapping, kill -9, scaling, rebuild, the Kafka-backed ones
# included — against the local Kafka and the SQL Server (or Babelfish) that
# MOCDC_TEST_MSSQL_DSN names: a login that may create databases, e.g.
#   MOCDC_TEST_MSSQL_DSN='sqlserver://sa:Secret_1@dbhost:1433' make test-mssql
# Each test creates its own database and drops it. CI has no SQL Server and
# does not run this.
test-mssql:
	@if [ -z "$${MOCDC_TEST_MSSQL_DSN:-}" ]; then \
		echo "make test-mssql: set MOCDC_TEST_MSSQL_DSN to a SQL Server login that may create databases, e.g. MOCDC_TEST_MSSQL_DSN='sqlserver://sa:Secret_1@dbhost:1433' make test-mssql" >&2; exit 2; fi
	$(SERVICES) up
	. "$(ENV_FILE)" && MOCDC_TEST_DIALECTS=mssql go test -count=1 -p 1 -timeout 40m -v ./sinks/mirror/ 2>&1 | \
		grep -E '^ *--- (PASS|FAIL|SKIP)|^(PASS|FAIL|ok)|_test\.go:[0-9]+:|^panic'

# The main job: the local MO store with a demo municipality and live
# changes, capture into Kafka, the sinks, and a progress line. Ctrl-C stops it.
# The binary goes to $(MOCDC_DATA)/bin, which `. .mocdc/env` puts on PATH.
run: services
	go build -ldflags "$(LDFLAGS)" -o $(MOCDC) ./cmd/mocdc
	[ -f $(MOCDC_DATA)/ledger/ledger.key ] || $(MOCDC) ledger keygen --out $(MOCDC_DATA)/ledger
	@echo "In a second terminal: . $(ENV_FILE) && mocdc status --config $(CONFIG)   (or: make status, make verify)"
	. "$(ENV_FILE)" && $(MOCDC) run --config $(CONFIG) --log-file $(MOCDC_DATA)/run.log

# For a second terminal while `make run` runs (the same as
# `. .mocdc/env; mocdc status --config deploy/local/mocdc.yaml` etc.).
status: $(MOCDC)
	@$(NEED_ENV)
	. "$(ENV_FILE)" && $(MOCDC) status --config $(CONFIG)

verify: $(MOCDC)
	@$(NEED_ENV)
	. "$(ENV_FILE)" && $(MOCDC) ledger verify --config $(CONFIG)

config-check: $(MOCDC)
	@$(NEED_ENV)
	. "$(ENV_FILE)" && $(MOCDC) config check --config $(CONFIG)

$(MOCDC): $(GO_SOURCES)
	go build -ldflags "$(LDFLAGS)" -o $(MOCDC) ./cmd/mocdc

# Throughput and latency figures; see bench/results.md for what each means
# and the scenario commands (go run ./bench capture|bigtxn|latency) behind
# the headline ones. The latency run takes about a minute and a half, the
# kill run (crash recovery of a mirror instance) about two minutes. The peer
# section compares capture with Debezium on Kafka Connect (jars from Maven
# Central, cached in ~/.cache/mocdc): first the short form of `go run ./bench
# peer` as a test (build tag benchpeer: 2-4 minutes, two JVM starts, too long
# for make test), then the full comparison (3 runs, 30-35 minutes at load 20-30).
# Faults injected at random while MO churns, then every invariant checked
# against the MO store (cmd/mocdc/chaos_test.go); the seed is printed so a
# failure replays: make chaos DURATION=30m SEED=42 (PER_KIND=10: the run also
# goes on until every fault kind was injected that often). The report is written to
# $(MOCDC_DATA)/chaos-report.md. make test runs the short form (1 minute of
# churn, every kind at least once: about 4 minutes).
DURATION ?= 30m
SEED ?= 0
PER_KIND ?= 10
chaos: services
	rc=0; . "$(ENV_FILE)" && go test -count=1 -v -timeout 0 -run '^TestChaos$$' ./cmd/mocdc \
		-args -chaos.duration=$(DURATION) -chaos.seed=$(SEED) -chaos.per_kind=$(PER_KIND) -chaos.report=$(MOCDC_DATA)/chaos-report.md \
		| grep --line-buffered -E '^(--- |ok|FAIL|PASS)|_test\.go:[0-9]+:|^        [^ #|]' || rc=$$?; \
	[ -f $(MOCDC_DATA)/chaos-report.md ] && cat $(MOCDC_DATA)/chaos-report.md; exit $$rc

bench: services
	. "$(ENV_FILE)" && go run ./bench capture -persons 3000 -changes 8000
	. "$(ENV_FILE)" && go run ./bench latency -rate 500 -duration 30s
	. "$(ENV_FILE)" && go run ./bench kill -rounds 3
	. "$(ENV_FILE)" && go test -tags benchpeer -count=1 -timeout 20m -run '^TestPeerCommand$$' ./bench
	. "$(ENV_FILE)" && go run ./bench peer
	. "$(ENV_FILE)" && go test -run '^$$' -bench . ./capture/... ./sinks/...

build:
	go build ./...

vet:
	go vet ./...

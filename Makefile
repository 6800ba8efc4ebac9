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

.PHONY: services services-down services-status test run bench build vet

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

# The main job: the local MO store with a demo municipality and live
# changes, capture into Kafka, the sinks, and a progress line. Ctrl-C stops it.
run: services
	go build -o $(MOCDC_DATA)/bin/mocdc ./cmd/mocdc
	[ -f $(MOCDC_DATA)/ledger/ledger.key ] || $(MOCDC_DATA)/bin/mocdc ledger keygen --out $(MOCDC_DATA)/ledger
	. "$(ENV_FILE)" && $(MOCDC_DATA)/bin/mocdc run --config deploy/local/mocdc.yaml

# Throughput and latency figures; see bench/results.md for what each means
# and the scenario commands (go run ./bench capture|bigtxn|latency) behind
# the headline ones. The latency run takes about a minute and a half.
bench: services
	. "$(ENV_FILE)" && go run ./bench capture -persons 3000 -changes 8000
	. "$(ENV_FILE)" && go run ./bench latency -rate 500 -duration 30s
	. "$(ENV_FILE)" && go test -run '^$$' -bench . ./capture/... ./sinks/...

build:
	go build ./...

vet:
	go vet ./...

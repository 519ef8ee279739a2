# coffer — every entry point is a target here; `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/coffer
GOBIN := $(shell $(GO) env GOPATH)/bin
PKGS  := ./...
# Generator versions (match go.mod; buf v1.50.0 is the newest that builds offline).
BUF_VERSION             := v1.50.0
PROTOC_GEN_GO_VERSION   := v1.36.12
PROTOC_GEN_GRPC_VERSION := v1.5.1
GATEWAY_VERSION         := v2.31.0

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/coffer (static, CGO off)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./services/cmd/coffer

run: build ## run the all-in-one server on 127.0.0.1:9000 with data in ./coffer-data
	$(BIN) serve --data-dir ./coffer-data

run-tls: build ## like run, over HTTPS: coffer cert dev writes a local CA and certificate under ./coffer-data/tls first
	$(BIN) cert dev --dir ./coffer-data/tls
	$(BIN) serve --data-dir ./coffer-data --tls-cert ./coffer-data/tls/server.pem --tls-key ./coffer-data/tls/server-key.pem

test: ## run the whole test suite (race detector on)
	$(GO) test -race -timeout 30m -count=1 $(PKGS)

test-short: ## quick tests only (skips the 1 GiB and crash tests)
	$(GO) test -short -timeout 10m $(PKGS)

bench: build ## run the S3 load generator against a fresh all-in-one server, plus the Go benchmarks
	$(GO) run ./gateway/loadgen -server $(BIN)
	$(GO) test -run '^$$' -bench . -benchtime 2x ./metadata/... ./blobstore/...

# The shared folder with bench/vs-minio.sh and bench/s3load (the lead's).
SHARED ?= ../shared

bench-vs-minio: ## coffer all-in-one vs MinIO, one interleaved run, ratios (builds MinIO once; not in CI; needs a quiet machine)
	$(SHARED)/bench/vs-minio.sh

bench-split: ## gateway, metadata and blobstore as separate processes (1+0 and 4+2) vs all-in-one, GET/PUT 64 MiB (not in CI)
	SHARED=$(SHARED) bench/split.sh

# Every fuzz target, as package:Target. `make fuzz` runs each for FUZZTIME.
FUZZTIME ?= 15s
FUZZ_TARGETS := \
	./authd/sigv4:FuzzSigV4Authorization \
	./authd/sigv4:FuzzSigV4Differential \
	./authd/sigv4:FuzzPresignedQuery \
	./authd:FuzzOpenToken \
	./gateway/s3:FuzzAwsChunkedReader \
	./gateway/s3:FuzzClassify \
	./gateway/objects:FuzzRangeHeader \
	./gateway/s3:FuzzCompleteMultipartXML \
	./gateway/s3:FuzzDeleteObjectsXML \
	./gateway/s3:FuzzCORSXML \
	./gateway/s3:FuzzLifecycleXML \
	./gateway/s3:FuzzCopySource \
	./gateway/s3:FuzzTaggingXML \
	./gateway/s3:FuzzPostPolicy \
	./gateway/objects:FuzzSealedBlob \
	./gateway/b2:FuzzB2RequestJSON \
	./corsd/policy:FuzzCORSMatch \
	./metadata/fsm:FuzzApply \
	./metadata/fsm:FuzzApplyTags

fuzz: ## run every fuzz target for FUZZTIME each (CI runs this; seeds live in testdata/fuzz)
	GO=$(GO) .ci/fuzz $(FUZZTIME) $(FUZZ_TARGETS)

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go' | grep -v '^proto/gen/')

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^proto/gen/')); \
	  if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

tools: ## install the protobuf generators (buf takes minutes the first time)
	$(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
	$(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GATEWAY_VERSION)

proto: ## format, lint and regenerate proto/gen (offline, local plugins)
	PATH="$(GOBIN):$$PATH" buf format -w
	PATH="$(GOBIN):$$PATH" buf lint
	rm -rf proto/gen
	PATH="$(GOBIN):$$PATH" buf generate

proto-check: proto ## fail if proto/gen drifted or the contracts broke compatibility with main
	git diff --exit-code -- proto
	@if git rev-parse --verify -q origin/main >/dev/null || git rev-parse --verify -q main >/dev/null; then \
	  PATH="$(GOBIN):$$PATH" buf breaking --against '.git#branch=main'; fi

screenshot: ## retake docs/console.png from the real console in Chromium
	COFFER_CONSOLE_SCREENSHOT=$(CURDIR)/docs/console.png $(GO) test -count=1 -run TestConsoleScreenshot ./gateway/console

clean: ## remove build output
	rm -rf bin

# --- the cluster (deploy/): images FROM scratch, docker-compose, e2e -------
COMPOSE      ?= docker-compose
CLUSTER      := $(COMPOSE) -p coffer -f deploy/docker-compose.yml
IMAGE        ?= coffer:dev
ETCD_IMAGE   ?= coffer-etcd:3.7.3
DOCKER_STAGE := bin/docker

images: ## build the coffer and etcd images FROM scratch from static binaries (no registry)
	rm -rf $(DOCKER_STAGE) && mkdir -p $(DOCKER_STAGE)/coffer/data $(DOCKER_STAGE)/coffer/tmp $(DOCKER_STAGE)/etcd/data \
	  $(addprefix $(DOCKER_STAGE)/coffer/certs/,ca metadata blobstore authd corsd gateway admin etcd)
	chmod 1777 $(DOCKER_STAGE)/coffer/tmp
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X github.com/coffer-project/coffer/services/app.Version=$$(git describe --always --dirty 2>/dev/null || echo dev)" \
	  -o $(DOCKER_STAGE)/coffer/coffer ./services/cmd/coffer
	cd deploy/etcd && CGO_ENABLED=0 $(GO) build -trimpath -o ../../$(DOCKER_STAGE)/etcd/etcd .
	DOCKER_BUILDKIT=0 docker build -q -t $(IMAGE) -f deploy/Dockerfile $(DOCKER_STAGE)/coffer
	DOCKER_BUILDKIT=0 docker build -q -t $(ETCD_IMAGE) -f deploy/etcd/Dockerfile $(DOCKER_STAGE)/etcd

deploy/.env:
	@umask 077; { \
	  echo "# coffer cluster secrets, written by make up; keep them with the volumes."; \
	  echo "COFFER_CLUSTER_KEY=$$(head -c 32 /dev/urandom | base64)"; \
	  echo "COFFER_ACCESS_KEY_ID=00$$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"; \
	  echo "COFFER_SECRET_ACCESS_KEY=K0$$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"; \
	  echo "COFFER_MASTER_APPLICATION_KEY=K0$$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')"; \
	} > $@
	@echo "wrote $@ (the cluster key and the bootstrap credentials)"

up: images deploy/.env ## start the cluster with docker-compose (S3/B2/R2-style on 127.0.0.1:9000 and :9001)
	$(CLUSTER) up -d
	@grep -E '^COFFER_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)=' deploy/.env | sed 's/^/  /'
	@echo "  endpoints: http://$${COFFER_BIND:-127.0.0.1}:$${COFFER_GATEWAY1_PORT:-9000} and http://$${COFFER_BIND:-127.0.0.1}:$${COFFER_GATEWAY2_PORT:-9001}"
	@echo "  consoles:  http://$${COFFER_BIND:-127.0.0.1}:$${COFFER_CONSOLE1_PORT:-9080} and http://$${COFFER_BIND:-127.0.0.1}:$${COFFER_CONSOLE2_PORT:-9081}"
	@echo "  status:    $(CLUSTER) exec admin /coffer admin cluster   (the admin container holds the operator certificate)"

down: ## stop the cluster (keeps its volumes; add V=1 to delete them)
	$(CLUSTER) down $(if $(V),-v)

e2e: images ## build the images, start the cluster, run the conformance suites and the fault scenarios, tear down
	$(GO) test -tags e2e -count=1 -timeout 40m -v ./deploy/e2e

.PHONY: images up down e2e

.PHONY: help build run run-tls test test-short bench fuzz fmt lint tools proto proto-check screenshot clean

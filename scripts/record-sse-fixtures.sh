#!/usr/bin/env bash
# Records raw streaming bodies from a real llama.cpp llama-server (scripts/local-llm.sh) as test
# fixtures, byte for byte, so the parser tests run on what a real server sends rather than on what
# we think it sends. Greedy decoding (temperature 0) keeps a re-recording close to the last one.
#
#   scripts/record-sse-fixtures.sh [PORT] [sse|anthropic|all]   # default 8081 all; the server must be running
#
# Writes Tests/GatewayCoreTests/Fixtures/sse/llamacpp-*.txt (OpenAI chat completions, SSE) and
# Tests/GatewayCoreTests/Fixtures/anthropic/llamacpp-*.txt (Anthropic Messages, SSE: llama-server
# serves that format at /v1/messages too). The two formats live in separate folders because the
# OpenAI tests run every file of sse/ through the OpenAI decoder.
set -euo pipefail

port=${1:-8081}
only=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures="$root/Tests/GatewayCoreTests/Fixtures"
base="http://127.0.0.1:$port"

curl -sf --max-time 5 "$base/health" >/dev/null || { echo "no llama-server on port $port (scripts/local-llm.sh ensure-running $port)" >&2; exit 1; }

# record DIR/NAME PATH JSON [CURL-ARGS...]: POST JSON to PATH and keep the body exactly as it arrived.
record() {
    local name=$1 path=$2 body=$3
    shift 3
    [[ $only == all || $only == "${name%%/*}" ]] || return 0
    mkdir -p "$(dirname "$fixtures/$name")"
    curl -sS -N --max-time 120 -H 'Content-Type: application/json' -H 'Accept: text/event-stream' "$@" \
        --data-binary "$body" "$base$path" -o "$fixtures/$name.txt"
    echo "recorded $name ($(wc -c <"$fixtures/$name.txt") bytes)" >&2
}

chat='{"model":"smollm2","temperature":0,"stream":true'
sys='{"role":"system","content":"You are a helpful assistant."}'

# Usage chunk (choices: []) before [DONE], as the gateway asks for it.
record sse/llamacpp-usage /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":48,"messages":['"$sys"',{"role":"user","content":"Say hello in one short sentence."}]}'
# finish_reason "length" on a tight cap.
record sse/llamacpp-length /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":6,"messages":['"$sys"',{"role":"user","content":"Describe the sea."}]}'
# No stream_options: what a server sends unasked.
record sse/llamacpp-no-stream-options /v1/chat/completions \
    "$chat"',"max_tokens":24,"messages":['"$sys"',{"role":"user","content":"Name two fruits."}]}'
# Multi-byte UTF-8 in the text: splits inside a character are the parser's problem.
record sse/llamacpp-unicode /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":40,"messages":['"$sys"',{"role":"user","content":"Écris « bonjour » en français, en chinois (你好) et avec un emoji 🙂."}]}'

# Anthropic Messages (/v1/messages): system prompt as the top-level field, as the gateway sends it.
# llama-server reports cached prompt tokens apart (cache_read_input_tokens), so the input counts
# depend on what it served just before: the tests read the counts from the recording itself.
messages='{"model":"smollm2","temperature":0,"stream":true'
version=(-H 'anthropic-version: 2023-06-01')
# stop_reason end_turn.
record anthropic/llamacpp-end-turn /v1/messages \
    "$messages"',"max_tokens":48,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Say hello in one short sentence."}]}' "${version[@]}"
# stop_reason max_tokens on a tight cap.
record anthropic/llamacpp-max-tokens /v1/messages \
    "$messages"',"max_tokens":6,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Describe the sea."}]}' "${version[@]}"
# Multi-byte UTF-8 in the text.
record anthropic/llamacpp-unicode /v1/messages \
    "$messages"',"max_tokens":40,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Écris « bonjour » en français, en chinois (你好) et avec un emoji 🙂."}]}' "${version[@]}"
# A history: alternating user/assistant turns after the system field.
record anthropic/llamacpp-history /v1/messages \
    "$messages"',"max_tokens":32,"system":"You are terse.","messages":[{"role":"user","content":"My name is Ada."},{"role":"assistant","content":"Hello Ada."},{"role":"user","content":"What is my name? Answer in three words."}]}' "${version[@]}"

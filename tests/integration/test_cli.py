"""The command line: --help, start-up refusals that name the bad key, and API keys never shown."""

from __future__ import annotations

import json
import os
import subprocess

from harness import REPO_ROOT, SCRUBBED_ENV, free_port, gateway_binary, http_get

SECRET = "sk-test-0123456789-never-print-me"


def run_gateway(args: list[str], env: dict | None = None, timeout: float = 10) -> subprocess.CompletedProcess:
    proc_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and k != "CHAT_GATEWAY_CONFIG"}
    proc_env.update(env or {})
    return subprocess.run([str(gateway_binary()), *args], cwd=REPO_ROOT, env=proc_env,
                          capture_output=True, text=True, timeout=timeout)


def write_config(tmp_path, config: dict) -> str:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_help_lists_options_and_starts_nothing():
    result = run_gateway(["--help"])
    assert result.returncode == 0, result.stderr
    for option in ("--config", "--port", "--host", "--echo-endpoint", "--help"):
        assert option in result.stdout, option
    assert "chat-gateway listening on" not in result.stdout


def test_unknown_flag_is_a_usage_error():
    result = run_gateway(["--frobnicate"])
    assert result.returncode == 2
    assert "--frobnicate" in result.stderr


def test_bad_port_flag_is_a_usage_error():
    result = run_gateway(["--port", "http"])
    assert result.returncode == 2
    assert "--port" in result.stderr


def test_unknown_config_key_is_named(tmp_path):
    path = write_config(tmp_path, {"server": {"prot": 9000}})
    result = run_gateway(["--config", path])
    assert result.returncode == 2
    assert "server.prot" in result.stderr, result.stderr


def test_wrong_type_is_named(tmp_path):
    path = write_config(tmp_path, {"workers": {"concurrency": "lots"}})
    result = run_gateway(["--config", path])
    assert result.returncode == 2
    assert "workers.concurrency" in result.stderr, result.stderr


def test_default_model_must_exist(tmp_path):
    path = write_config(tmp_path, {"llm": {"default_model": "gpt-nowhere"}})
    result = run_gateway(["--config", path])
    assert result.returncode == 2
    assert "llm.default_model" in result.stderr, result.stderr


def test_out_of_range_model_settings_are_named(tmp_path):
    model = {"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    for key, value in (("max_tokens", 0), ("temperature", 2.5), ("temperature", "hot")):
        path = write_config(tmp_path, {"llm": {"default_model": "x", "models": {"x": {**model, key: value}}}})
        result = run_gateway(["--config", path])
        assert result.returncode == 2, (key, value, result.stderr)
        assert f"llm.models.x.{key}" in result.stderr, result.stderr


def test_invalid_json_is_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"server": {"port": 80,}')
    result = run_gateway(["--config", str(path)])
    assert result.returncode == 2
    assert result.stderr.strip(), "a message saying what is wrong"


def test_missing_config_file_is_refused(tmp_path):
    result = run_gateway(["--config", str(tmp_path / "nope.json")])
    assert result.returncode == 2
    assert "nope.json" in result.stderr


def test_missing_static_root_names_the_key(tmp_path):
    path = write_config(tmp_path, {"server": {"static_root": str(tmp_path / "no-such-dir")}})
    result = run_gateway(["--config", path])
    assert result.returncode == 2
    assert "server.static_root" in result.stderr, result.stderr


def test_openai_base_url_needs_a_model():
    result = run_gateway([], env={"CHAT_GATEWAY_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert result.returncode == 2
    assert "CHAT_GATEWAY_OPENAI_MODEL" in result.stderr, result.stderr


def test_bad_port_env_is_named():
    result = run_gateway([], env={"CHAT_GATEWAY_PORT": "eighty"})
    assert result.returncode == 2
    assert "CHAT_GATEWAY_PORT" in result.stderr, result.stderr


def test_api_key_is_never_logged_or_served(gateway_factory):
    gw = gateway_factory({}, env={"CHAT_GATEWAY_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                                  "CHAT_GATEWAY_OPENAI_MODEL": "some-model",
                                  "CHAT_GATEWAY_OPENAI_API_KEY": SECRET})
    for path in ("/healthz", "/readyz"):
        _, _, body = http_get(gw.http_url + path)
        assert SECRET.encode() not in body
    assert gw.stop()[0] == 0
    assert SECRET not in gw.stderr() and SECRET not in "\n".join(gw.stdout_lines)
    assert "some-model" in gw.stderr(), "start-up names the default model"


def test_the_harness_scrubs_every_variable_that_changes_the_gateway():
    # A developer who exported, say, CHAT_GATEWAY_ANTHROPIC_BASE_URL (as the README shows) and runs
    # `make test` must not get a suite whose gateways all answer from that model.
    names = {f"CHAT_GATEWAY_{provider}_{part}" for provider in ("OPENAI", "ANTHROPIC", "OLLAMA")
             for part in ("BASE_URL", "MODEL", "API_KEY")}
    names |= {"CHAT_GATEWAY_CONFIG", "CHAT_GATEWAY_HOST", "CHAT_GATEWAY_PORT", "CHAT_GATEWAY_NODE_ID"}
    missing = sorted(names - set(SCRUBBED_ENV))
    assert not missing, f"harness.SCRUBBED_ENV lets these through to test gateways: {missing}"


async def test_an_upstream_that_quotes_the_api_key_does_not_get_it_logged_or_shown(gateway_factory):
    # Misconfigured proxies and some APIs quote the credential they refused ("Incorrect API key
    # provided: sk-..."). The gateway relays upstream error messages to every subscriber and logs
    # failed attempts: the key it sent must not come back out through either.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from harness import WSClient, unique

    class QuotingUpstream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}})
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), QuotingUpstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        gw = gateway_factory({}, env={"CHAT_GATEWAY_OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_port}/v1",
                                      "CHAT_GATEWAY_OPENAI_MODEL": "some-model",
                                      "CHAT_GATEWAY_OPENAI_API_KEY": SECRET})
        c = await WSClient.open(gw.ws_url)
        s = unique()
        await c.join(s)
        await c.message(s, "m1", "hello")
        frames = await c.recv_turn()
        await c.close()
        end = frames[-1]
        assert end["finish"] == "error" and end["error"]["code"] == "upstream_http", end
        assert "Incorrect API key provided" in end["error"]["message"], "the upstream's reason is still relayed"
        assert SECRET not in json.dumps(frames), f"the key reached the client: {end['error']}"
        assert gw.stop()[0] == 0
        assert SECRET not in gw.stderr(), "the key reached the log"
    finally:
        server.shutdown()


def test_credentials_in_a_base_url_are_not_logged(gateway_factory):
    # Some proxies take basic-auth credentials in the URL; the start-up line names the base URL.
    gw = gateway_factory({"llm": {"default_model": "up", "models": {"up": {
        "provider": "openai", "base_url": f"http://user:{SECRET}@127.0.0.1:9/v1", "model": "some-model"}}}})
    assert gw.stop()[0] == 0
    assert SECRET not in gw.stderr(), gw.stderr()
    assert "127.0.0.1:9" in gw.stderr(), "start-up still names the upstream"


def test_a_worker_process_with_no_worker_slots_is_refused(tmp_path):
    # workers.concurrency 0 is for a node that takes clients while others run turns; a worker-only
    # process with none would run nothing. Refused before it connects to Redis (none listens here).
    path = write_config(tmp_path, {"workers": {"concurrency": 0}})
    result = run_gateway(["worker", "--config", path, "--port", str(free_port())], timeout=5,
                         env={"CHAT_GATEWAY_REDIS_URL": "redis://127.0.0.1:1"})
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "workers.concurrency" in result.stderr, result.stderr

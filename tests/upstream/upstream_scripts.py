"""Scripts of the scripted upstream: what each request's `model` asks for, in any wire format (stdlib only).

Each script is written once against a `Turn` and the format (upstream_formats.py) spells it in its
API's bytes. The list of scripts and their parameters is in scripted_upstream.py's docstring.
"""

import email.utils
import math
import re
import threading
import time

# Input tokens the scripts report (echo counts its own).
PROMPT_TOKENS = 11
# How long keep-alive and stall loops run at most if the client never goes away.
STALL_LIMIT_S = 120


def parse_script(model):
    name, *rest = str(model).split(":")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        params[key] = value
    return name, params


class Turn:
    """One scripted request: the handler (socket and HTTP framing), its log entry, the wire format."""

    def __init__(self, handler, entry, fmt, model, params, request):
        self.handler, self.entry, self.fmt = handler, entry, fmt
        self.model, self.params, self.request = model, params, request

    def int_param(self, key, default):
        try:
            return int(self.params.get(key, default))
        except ValueError:
            return default

    def write(self, data):
        self.handler.write_chunk(data)

    def sleep(self, seconds):
        self.handler.sleep_watching(seconds)

    def start(self, input_tokens=PROMPT_TOKENS):
        """Status line and headers, then the format's preamble; `input_tokens` None reports no usage."""
        self.handler.start_stream(self.entry, self.fmt.content_type)
        self.fmt.begin(self, input_tokens)

    def tokens(self, texts, delay_s=0.0):
        for index, text in enumerate(texts):
            if index and delay_s:
                self.sleep(delay_s)
            self.fmt.text(self, text)

    def finish(self, reason, usage):
        self.fmt.finish(self, reason, usage)

    def end(self):
        self.handler.end_stream()


def token_list(count):
    return [f"tok{i} " for i in range(count)]


def script_ok(t, usage=True, finish="stop"):
    tokens = token_list(t.int_param("tokens", 5))
    t.start(PROMPT_TOKENS if usage else None)
    first_token_ms = t.int_param("first_token_ms", 0)
    if first_token_ms > 0:
        t.sleep(first_token_ms / 1000)  # headers and preamble sent, no content yet
    t.tokens(tokens, t.int_param("delay_ms", 0) / 1000)
    t.finish(finish, (PROMPT_TOKENS, len(tokens)) if usage else None)
    t.end()


def script_truncate(t):
    t.start()
    t.tokens(token_list(t.int_param("after", 3)))
    if t.params.get("abrupt") == "1":
        t.handler.abort_abruptly()
    else:
        t.end()


def script_inband_error(t):
    t.start()
    t.tokens(token_list(t.int_param("after", 3)))
    t.fmt.inband_error(t, overloaded=t.params.get("overloaded", "1") != "0")
    t.end()
    t.handler.close_connection = True


HTTP_MESSAGES = {500: "scripted internal error", 429: "scripted rate limit"}


def retry_headers(form, status):
    """The Retry-After headers `retry=` asks for; without it a 429 keeps the historical `Retry-After: 7`."""
    if form is None:
        return [("Retry-After", "7")] if status == 429 else []
    if form == "seconds":
        return [("Retry-After", "1")]
    if form == "date":
        # HTTP-dates have whole seconds: 1 to 2 s ahead, never in the past.
        return [("Retry-After", email.utils.formatdate(math.ceil(time.time()) + 1, usegmt=True))]
    if form == "ms":
        return [("retry-after-ms", "300")]
    if form == "huge":
        # Valid delta-seconds, far past any clock: a reader must cap it, not overflow.
        return [("Retry-After", "99999999999999999999")]
    if form == "huge-ms":
        return [("retry-after-ms", "1e300")]
    return []  # retry=none


def script_http(t, status):
    message = HTTP_MESSAGES.get(status, f"scripted HTTP {status}")
    t.handler.send_json(status, t.fmt.error_body(status, message), t.entry, retry_headers(t.params.get("retry"), status))


def script_reset(t):
    t.handler.reset_connection()


def script_stall_headers(t):
    deadline = time.monotonic() + STALL_LIMIT_S
    while time.monotonic() < deadline:
        t.sleep(0.1)  # raises ClientClosed when the client gives up
    t.handler.close_connection = True


def script_stall(t):
    t.start()
    t.tokens(token_list(t.int_param("after", 2)))
    deadline = time.monotonic() + STALL_LIMIT_S
    while time.monotonic() < deadline:
        t.sleep(0.1)
        t.fmt.keep_alive(t)
    t.end()


def script_slow(t):
    t.params = {"tokens": "600", "delay_ms": "100", **t.params}
    script_ok(t)


def script_split(t):
    data, cuts = t.fmt.split_stream(t)
    t.handler.start_stream(t.entry, t.fmt.content_type)
    start = 0
    for cut in cuts + [len(data)]:
        t.write(data[start:cut])  # each piece its own HTTP chunk and TCP segment
        start = cut
        t.sleep(0.015)
    t.end()


def script_echo(t):
    messages = t.fmt.messages(t.request)
    system = t.fmt.system(t.request)
    counted = ([{"content": system}] if system is not None else []) + messages
    last_user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    tokens = re.findall(r"\S+\s*|\s+", last_user)
    prompt_tokens = sum(len(m["content"]) // 4 + 4 for m in counted)
    t.start(prompt_tokens)
    t.tokens(tokens)
    t.finish("stop", (prompt_tokens, len(tokens)))
    t.end()


SCRIPTS = {
    "ok": script_ok,
    "nousage": lambda t: script_ok(t, usage=False),
    "length": lambda t: script_ok(t, finish="length"),
    "truncate": script_truncate,
    "inband-error": script_inband_error,
    "reset": script_reset,
    "stall-headers": script_stall_headers,
    "stall": script_stall,
    "slow": script_slow,
    "split": script_split,
    "echo": script_echo,
}


def find_script(name):
    """The script called `name`; `http-NNN` is any status (http-500, http-429, http-503, ...)."""
    match = re.fullmatch(r"http-(\d{3})", name)
    if match:
        status = int(match.group(1))
        return lambda t: script_http(t, status)
    return SCRIPTS.get(name)


class Attempts:
    """Counts requests per `tag=` (else per whole model string), for `fail_first`."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}

    def next(self, key):
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


ATTEMPTS = Attempts()


def choose_script(name, params, model):
    """(script name to run, attempt number): `fail_first=K` runs `fail_with` (default http-503)
    instead of `name` for the first K requests with the same tag."""
    attempt = ATTEMPTS.next(params.get("tag") or model)
    try:
        failing = attempt <= int(params.get("fail_first", 0))
    except ValueError:
        failing = False
    return (params.get("fail_with") or "http-503") if failing else name, attempt

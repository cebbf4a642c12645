"""The web demo in headless chromium against a real chat-gateway (built-in demo model, ~3 s replies).

Run: CHAT_GATEWAY_BIN=.build/debug/chat-gateway python3 -m pytest tests/browser -q
Every assertion is on the DOM; a Python `websockets` client joined to the same session (its id read
from the page's localStorage) is the independent observer of what the gateway streamed.
"""
import json
import re
import threading
import time

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from helpers import (UUID_RE, assistants, reply, send, session_id, text_of, users, wait_finished,
                     wait_state)

SCREENSHOT = "/tmp/widget.png"


class Observer:
    """A second subscriber of a session: joins with no after_seq (so it gets the whole log, then live
    events), checks the seq rules of protocol v1 and rebuilds each turn's text."""

    def __init__(self, url, session):
        self.url, self.session = url, session
        self.frames, self.violations = [], []
        self.last_seq = 0
        self.cond = threading.Condition()
        self.ready, self.closed = threading.Event(), threading.Event()
        self.ws, self.error = None, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)
        if self.ws is None:
            raise AssertionError(f"observer could not connect to {url}: {self.error!r}")
        self.wait_for(lambda: any(f.get("type") == "joined" for f in self.frames), "joined")

    def _run(self):
        try:
            with connect(self.url, subprotocols=["chat.v1"], open_timeout=5) as ws:
                ws.send(json.dumps({"type": "hello", "client": "pytest-observer"}))
                ws.send(json.dumps({"type": "join", "session": self.session}))
                self.ws = ws
                self.ready.set()
                for raw in ws:
                    f = json.loads(raw)
                    with self.cond:
                        self._check(f)
                        self.frames.append(f)
                        self.cond.notify_all()
        except Exception as e:  # could not connect, or the connection closed
            self.error = e
        finally:
            self.ready.set()
            self.closed.set()
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, pred, what, timeout=10):
        with self.cond:
            assert self.cond.wait_for(lambda: pred() or self.closed.is_set(), timeout) and pred(), \
                f"observer: no {what} ({self.error!r}); last frames: {self.frames[-5:]}"

    def _check(self, f):
        if f.get("type") == "snapshot":
            self.last_seq = f["seq"]
        elif f.get("type") not in ("welcome", "joined", "ack", "error") and "seq" in f:
            first = f.get("from_seq", f["seq"])
            if first != self.last_seq + 1 or f["seq"] < first:
                self.violations.append(f"after seq {self.last_seq} got {f}")
            self.last_seq = f["seq"]

    def events(self, type_=None, turn=None):
        with self.cond:
            return [f for f in self.frames if (type_ is None or f.get("type") == type_)
                    and (turn is None or f.get("turn") == turn)]

    def wait_end(self, turn, timeout=15):
        self.wait_for(lambda: any(f.get("type") == "turn.end" and f.get("turn") == turn
                                  for f in self.frames), f"turn.end of {turn}", timeout)
        return self.events("turn.end", turn)[0]

    def text(self, turn):
        return "".join(f["text"] for f in self.events("turn.delta", turn))

    def close(self):
        self.ws.close()
        self.closed.wait(5)


@pytest.fixture
def observe(gateway):
    made = []

    def start(session):
        o = Observer(gateway.ws, session)
        made.append(o)
        return o
    yield start
    for o in made:
        o.close()
    for o in made:
        assert not o.violations, f"observer saw seq gaps/duplicates: {o.violations}"


def open_widget(page, gateway):
    page.goto(gateway.http + "/")
    wait_state(page, "open")
    return session_id(page)


def record_frames(page):
    """Every WebSocket frame the page sends/receives, as ('>'|'<', parsed frame)."""
    log = []

    def on_ws(ws):
        ws.on("framesent", lambda payload: log.append((">", json.loads(payload))))
        ws.on("framereceived", lambda payload: log.append(("<", json.loads(payload))))
    page.on("websocket", on_ws)
    return log


def sample_until_done(page, msg, every_ms=100, timeout_s=15):
    """Texts of a streaming reply sampled over time, until data-streaming=false."""
    samples, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        samples.append(text_of(msg))
        if msg.get_attribute("data-streaming") == "false":
            return samples
        page.wait_for_timeout(every_ms)
    raise AssertionError(f"reply still streaming after {timeout_s} s: {samples[-1]!r}")


def test_page_loads_and_connects(page, gateway):
    sid = open_widget(page, gateway)
    assert re.match(UUID_RE, sid)
    expect(page).to_have_title("chat-gateway demo")
    expect(page.get_by_test_id("state-text")).to_have_text("Connected")
    expect(page.get_by_test_id("send")).to_be_enabled()
    expect(page.get_by_test_id("stop")).to_be_disabled()
    expect(page.get_by_test_id("error")).to_be_hidden()
    expect(assistants(page)).to_have_count(0)


def test_message_streams_reply_token_by_token(page, gateway, observe):
    obs = observe(open_widget(page, gateway))
    send(page, "Hello, gateway!")
    expect(users(page)).to_have_text(["Hello, gateway!"])
    msg = reply(page)
    expect(msg).to_have_attribute("data-streaming", "true")
    expect(page.get_by_test_id("stop")).to_be_enabled()
    expect(page.get_by_test_id("send")).to_be_disabled()
    expect(page.get_by_test_id("model")).to_have_text("demo")
    expect(msg.locator('[data-testid="message-text"]')).not_to_have_text("")
    page.screenshot(path="/tmp/widget-streaming.png")
    samples = sample_until_done(page, msg)
    distinct = sorted(set(samples), key=len)
    assert len(distinct) >= 4, f"the reply did not grow gradually: {samples}"
    for a, b in zip(distinct, distinct[1:]):
        assert b.startswith(a), f"text was rewritten, not appended: {a!r} -> {b!r}"
    wait_finished(msg, "stop")
    turn = msg.get_attribute("data-turn")
    obs.wait_end(turn)
    assert text_of(msg) == obs.text(turn) != ""
    expect(page.get_by_test_id("stop")).to_be_disabled()
    expect(page.get_by_test_id("send")).to_be_enabled()
    page.screenshot(path=SCREENSHOT)


def test_stop_cancels_the_reply_quickly(page, gateway, observe):
    obs = observe(open_widget(page, gateway))
    send(page, "Please talk for a while")
    msg = reply(page)
    expect(msg.locator('[data-testid="message-text"]')).not_to_have_text("")
    t0 = time.monotonic()
    page.get_by_test_id("stop").click()
    wait_finished(msg, "cancelled", timeout=3000)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.5, f"stop took {elapsed:.2f} s"
    stopped_text = text_of(msg)
    expect(msg.locator('[data-testid="turn-note"]')).to_have_text("Stopped.")
    turn = msg.get_attribute("data-turn")
    end = obs.wait_end(turn)
    assert end["finish"] == "cancelled"
    page.wait_for_timeout(500)
    assert text_of(msg) == stopped_text == obs.text(turn)      # nothing streamed after the stop
    expect(page.get_by_test_id("send")).to_be_enabled()
    # the session takes a new message after a stop
    send(page, "again")
    wait_finished(reply(page), "stop")
    expect(assistants(page)).to_have_count(2)


def test_reload_mid_reply_resumes_without_loss_or_repeat(page, gateway, observe):
    obs = observe(open_widget(page, gateway))
    send(page, "Tell me a story")
    msg = reply(page)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=assistant-message] [data-testid=message-text]')"
        "?.textContent.length || 0) >= 10")
    before = text_of(msg)
    page.reload()
    wait_state(page, "open")
    msg = reply(page)
    # the reply is still streaming after the reload: it was resumed, not merely shown finished
    expect(msg).to_have_attribute("data-streaming", "true", timeout=2000)
    turn = msg.get_attribute("data-turn")
    wait_finished(msg, "stop")
    final = text_of(msg)
    obs.wait_end(turn)
    assert final == obs.text(turn), "the reply after reload differs from what the gateway streamed"
    assert final.startswith(before) and len(final) > len(before)
    expect(users(page)).to_have_text(["Tell me a story"])
    expect(assistants(page)).to_have_count(1)
    # and a fresh reload after the end shows the same finished transcript
    page.reload()
    wait_state(page, "open")
    wait_finished(reply(page), "stop")
    assert text_of(reply(page)) == final
    expect(assistants(page)).to_have_count(1)


def test_reconnect_mid_reply_resumes_with_after_seq(page, gateway, observe):
    frames = record_frames(page)
    obs = observe(open_widget(page, gateway))
    send(page, "Count slowly")
    msg = reply(page)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=assistant-message] [data-testid=message-text]')"
        "?.textContent.length || 0) >= 10")
    page.evaluate("window.chatClient._ws.close(4000, 'test: drop the connection')")
    wait_state(page, "reconnecting")
    wait_state(page, "open")
    wait_finished(msg, "stop")
    turn = msg.get_attribute("data-turn")
    obs.wait_end(turn)
    assert text_of(msg) == obs.text(turn)
    joins = [f for d, f in frames if d == ">" and f["type"] == "join"]
    assert len(joins) == 2 and "after_seq" not in joins[0] and joins[1]["after_seq"] > 0, joins
    # after the second `joined`, the first event is exactly after_seq + 1 (or a snapshot)
    idx = max(i for i, (d, f) in enumerate(frames) if d == "<" and f["type"] == "joined")
    assert frames[idx][1]["recovered"] is True, frames[idx]
    nxt = next(f for d, f in frames[idx + 1:] if d == "<" and "seq" in f)
    assert nxt.get("from_seq", nxt["seq"]) == joins[1]["after_seq"] + 1, (joins[1], nxt)
    expect(assistants(page)).to_have_count(1)


def test_two_tabs_show_the_identical_reply(context, gateway, observe):
    a, b = context.new_page(), context.new_page()
    sid = open_widget(a, gateway)
    assert open_widget(b, gateway) == sid                     # one localStorage, one session
    obs = observe(sid)
    send(a, "Same for both tabs?")
    ra, rb = reply(a), reply(b)
    expect(users(b)).to_have_text(["Same for both tabs?"])
    expect(rb).to_have_attribute("data-streaming", "true")
    expect(b.get_by_test_id("stop")).to_be_enabled()          # the other tab may stop the turn too
    wait_finished(ra, "stop")
    wait_finished(rb, "stop")
    turn = ra.get_attribute("data-turn")
    assert rb.get_attribute("data-turn") == turn
    obs.wait_end(turn)
    assert text_of(ra) == text_of(rb) == obs.text(turn) != ""
    for p in (a, b):
        expect(users(p)).to_have_count(1)
        expect(assistants(p)).to_have_count(1)

"""chat-client.js + the widget against a scripted WebSocket server (playwright's route_web_socket):
the protocol edge cases a real gateway rarely produces on demand (duplicates, gaps, merged deltas,
snapshots, close codes, refused messages, lost acks). No gateway process is needed."""
import re
import time

from playwright.sync_api import expect

from helpers import FAKE_ORIGIN
from helpers import (UUID_RE, assistants, reply, send, session_id, text_of, until, users,
                     wait_finished, wait_state)


def open_page(page, gw):
    page.goto(FAKE_ORIGIN + "/")
    wait_state(page, "open")
    until(page, lambda: gw.session, what="join")
    return gw.conn


def test_hello_join_and_session_id(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    assert [f["type"] for f in conn.frames] == ["hello", "join"]
    assert "after_seq" not in conn.frames[1]  # a fresh page has nothing: the whole log, please
    sid = session_id(page)
    assert re.match(UUID_RE, sid), sid  # generated without crypto.randomUUID (http://chat.test is not secure)
    assert conn.frames[1]["session"] == sid
    # a reload keeps the session
    page.reload()
    wait_state(page, "open")
    until(page, lambda: len(gw.conns) == 2, what="second connection")
    until(page, lambda: len(gw.conns[1].frames) >= 2, what="second join")
    assert gw.conns[1].frames[1]["session"] == sid


def test_duplicates_dropped_and_merged_deltas_applied(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    gw.append({"type": "message", "id": "m1", "role": "user", "author": "g", "text": "hi", "ts": 0})
    gw.reply("t1", ["Hel", "lo", " wor", "ld"], deliver=False)   # seqs 1..7
    conn.deliver(1, 2, 3, 4)
    msg = reply(page, "t1")
    expect(msg.locator('[data-testid="message-text"]')).to_have_text("Hello")
    expect(page.get_by_test_id("stop")).to_be_enabled()
    conn.deliver(3, 4, 1, 2)                                     # duplicates: dropped
    conn.send({"type": "turn.delta", "session": gw.session, "seq": 6, "from_seq": 5,
               "turn": "t1", "text": " world"})                  # a merged delta covering 5..6
    conn.deliver(6, 7)                                           # 6 is a duplicate now
    wait_finished(msg, "stop")
    assert text_of(msg) == "Hello world"
    assert users(page).count() == 1 and assistants(page).count() == 1
    expect(page.get_by_test_id("model")).to_have_text("fake-model")
    expect(page.get_by_test_id("stop")).to_be_disabled()
    assert gw.frames("join") == [conn.frames[1]]                 # no re-join was needed


def test_gap_is_not_applied_and_rejoins_after_last_seq(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    gw.reply("t1", ["a", "b", "c", "d"], deliver=False)          # seqs 1..6
    conn.deliver(1, 2, 3)
    msg = reply(page, "t1")
    expect(msg.locator('[data-testid="message-text"]')).to_have_text("ab")
    conn.deliver(5)                                              # seq 4 missing
    until(page, lambda: len(gw.frames("join")) == 2, what="re-join")
    assert gw.frames("join")[1]["after_seq"] == 3
    wait_finished(msg, "stop")                                   # the fake replayed 4..6
    assert text_of(msg) == "abcd"
    # a merged delta that starts past last+1 is a gap too
    gw.reply("t2", ["x", "y", "z"], deliver=False)               # seqs 7..11
    conn.deliver(7, 8)
    conn.send({"type": "turn.delta", "session": gw.session, "seq": 10, "from_seq": 9 + 1,
               "turn": "t2", "text": "yz"})
    until(page, lambda: len(gw.frames("join")) == 3, what="second re-join")
    assert gw.frames("join")[2]["after_seq"] == 8
    wait_finished(reply(page, "t2"), "stop")
    assert text_of(reply(page, "t2")) == "xyz"


def test_slow_consumer_close_reconnects_and_resumes(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    gw.reply("t1", ["one ", "two ", "three ", "four"], deliver=False)   # 1..6
    conn.deliver(1, 2, 3)
    expect(reply(page, "t1").locator('[data-testid="message-text"]')).to_have_text("one two ")
    conn.close(4008, "slow consumer")
    wait_state(page, "reconnecting")
    wait_state(page, "open")
    new = gw.conn
    assert new is not conn
    assert [f["type"] for f in new.frames[:2]] == ["hello", "join"]
    assert new.frames[1]["after_seq"] == 3
    wait_finished(reply(page, "t1"), "stop")
    assert text_of(reply(page, "t1")) == "one two three four"
    assert assistants(page).count() == 1


def test_snapshot_replaces_transcript(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    gw.publish({"type": "message", "id": "old", "role": "user", "author": "g", "text": "stale", "ts": 0})
    expect(users(page)).to_have_count(1)
    # the log moved on and was trimmed meanwhile: the server answers the resume with a snapshot
    gw.log += [None] * 8                                               # last seq is 9
    gw.snapshot = {"seq": 9, "messages": [
        {"id": "u1", "role": "user", "author": "g", "text": "question"},
        {"id": "a1", "role": "assistant", "author": "demo", "text": "<b>Partial</b>", "turn": "t9",
         "streaming": True},
    ]}
    conn.close(1011, "restart")
    wait_state(page, "open")
    assert gw.conn.frames[1]["after_seq"] == 1
    msg = reply(page, "t9")
    expect(msg).to_have_attribute("data-streaming", "true")
    expect(users(page)).to_have_text(["question"])
    expect(page.get_by_test_id("stop")).to_be_enabled()
    gw.publish({"type": "turn.delta", "turn": "t9", "text": " & more"})   # seq 10
    gw.publish({"type": "turn.end", "turn": "t9", "finish": "length",
                "usage": {"input_tokens": 1, "output_tokens": 2, "estimated": True}})
    wait_finished(msg, "length")
    assert text_of(msg) == "<b>Partial</b> & more"                     # escaped: shown as text
    assert page.locator('[data-testid="transcript"] b').count() == 0


def test_fatal_close_is_not_retried(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    conn.close(4001, "hello required")
    wait_state(page, "closed")
    expect(page.get_by_test_id("error")).to_be_visible()
    expect(page.get_by_test_id("error-text")).to_contain_text("4001")
    page.wait_for_timeout(1500)
    assert len(gw.conns) == 1


def test_backoff_grows_with_jitter(page, fake_site):
    gw = fake_site
    opened = []

    def refuse(conn, frame):  # close every connection as soon as it says hello
        opened.append(time.monotonic())
        conn.close(1013, "try again later")
        return True
    gw.on_frame = refuse
    page.goto(FAKE_ORIGIN + "/")
    until(page, lambda: len(opened) >= 5, timeout=6, what="5 attempts")
    gaps = [b - a for a, b in zip(opened, opened[1:])]
    # delay n is uniform in [cap/2, cap] with cap = 250 ms * 2^n (plus connection set-up time)
    for n, gap in enumerate(gaps[:4]):
        cap = 0.25 * 2 ** n
        assert cap / 2 - 0.02 <= gap <= cap + 0.25, (n, gaps)
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "reconnecting")
    expect(page.get_by_test_id("state-text")).to_contain_text("Reconnecting")


def test_unacked_message_is_resent_with_same_id(page, fake_site):
    gw = fake_site
    conn = open_page(page, gw)
    gw.auto_ack = False
    send(page, "hello there")
    until(page, lambda: gw.frames("message"), what="message frame")
    first = gw.frames("message")[0]
    expect(users(page).first).to_have_attribute("data-pending", "true")
    gw.auto_ack = True
    conn.close(1001, "going away")
    until(page, lambda: len(gw.frames("message")) == 2, what="resent message")
    again = gw.frames("message")[1]
    assert again["id"] == first["id"] and again["text"] == "hello there"
    assert gw.conn.frames[1]["type"] == "join"           # resent only after the join
    expect(users(page)).to_have_count(1)
    expect(users(page).first).to_have_attribute("data-pending", "false")
    page.wait_for_timeout(300)
    assert len(gw.frames("message")) == 2                # acked: not resent again


def test_not_joined_triggers_rejoin_and_resend(page, fake_site):
    gw = fake_site
    open_page(page, gw)
    answered = []

    def forget_join(conn, frame):  # the first message is answered with not_joined
        if frame["type"] == "message" and not answered:
            answered.append(frame)
            conn.send({"type": "error", "code": "not_joined", "message": "join first", "ref": frame["id"]})
            return True
        return False
    gw.on_frame = forget_join
    send(page, "ping")
    until(page, lambda: len(gw.frames("message")) == 2, what="resend after re-join")
    types = [f["type"] for f in gw.conn.frames]
    assert types == ["hello", "join", "message", "join", "message"], types
    assert gw.frames("message")[1]["id"] == answered[0]["id"]
    expect(users(page)).to_have_count(1)
    expect(users(page).first).to_have_attribute("data-pending", "false")
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_refused_messages_show_errors_and_retry(page, fake_site):
    gw = fake_site
    open_page(page, gw)
    refusal = {"code": "busy"}

    def refuse(conn, frame):
        if frame["type"] == "message" and refusal["code"]:
            conn.send({"type": "error", "code": refusal["code"], "message": "no", "ref": frame["id"]})
            return True
        return False
    gw.on_frame = refuse
    send(page, "first")
    expect(page.get_by_test_id("error-text")).to_contain_text("in progress")
    expect(users(page)).to_have_count(0)                   # the refused message is not shown as sent
    expect(page.get_by_test_id("stop")).to_be_enabled()    # busy: a turn is running elsewhere
    gw.reply("t1", ["done"])                               # that other turn ends
    expect(page.get_by_test_id("send")).to_be_enabled()
    refusal["code"] = "rate_limited"
    send(page, "second")
    expect(page.get_by_test_id("error-text")).to_contain_text("too fast")
    retry = page.get_by_test_id("retry")
    expect(retry).to_be_visible()
    refusal["code"] = None
    retry.click()
    expect(users(page)).to_have_text(["second"])
    expect(page.get_by_test_id("error")).to_be_hidden()
    msgs = gw.frames("message")
    assert [m["text"] for m in msgs] == ["first", "second", "second"]
    page.wait_for_timeout(300)
    assert len(gw.frames("message")) == 3                  # refused ones are never resent

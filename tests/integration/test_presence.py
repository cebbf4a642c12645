"""Presence on one node: who is in a session, per user across tabs, join/leave/typing events with the
roster after each (docs/protocol.md, "Presence"). Presence is not part of the session log."""

from __future__ import annotations

import asyncio
import json
import time

from harness import WSClient, http_get, unique, wait_until


async def tab(gateway, user: str, role: str | None = None) -> WSClient:
    """A connection that sees presence frames, said hello as `user`."""
    c = await WSClient.connect(gateway.ws_url, presence=True)
    hello = {"user": user}
    if role:
        hello["role"] = role
    welcome = await c.hello(**hello)
    assert welcome["user"] == user, welcome
    return c


def presence(event: str, user: str, session: str, users: dict[str, str]) -> dict:
    return {"type": "presence", "session": session, "event": event, "user": user,
            "users": [{"user": u, "role": r} for u, r in sorted(users.items())]}


async def join_with_roster(c: WSClient, session: str) -> dict:
    """join; `joined` first, then this connection's own presence join with the roster."""
    await c.send({"type": "join", "session": session})
    await c.expect("joined")
    frame = await c.expect("presence")
    assert frame["event"] == "join" and frame["user"] == c.welcome["user"], frame
    return frame


def connections(gateway) -> int:
    status, _, body = http_get(f"{gateway.http_url}/healthz")
    assert status == 200, body
    return json.loads(body)["connections"]


async def test_joiner_gets_the_roster_and_others_see_only_a_users_first_tab(gateway):
    s = unique()
    alice1 = await tab(gateway, "alice")
    assert await join_with_roster(alice1, s) == presence("join", "alice", s, {"alice": "user"})
    bob = await tab(gateway, "bob", "agent")
    both = {"alice": "user", "bob": "agent"}
    assert await join_with_roster(bob, s) == presence("join", "bob", s, both)
    assert await alice1.expect("presence") == presence("join", "bob", s, both)

    alice2 = await tab(gateway, "alice")  # a second tab of alice
    assert await join_with_roster(alice2, s) == presence("join", "alice", s, both), "her own roster, alice once"
    # Nobody else hears of alice's second tab: the next presence frame they get is bob's typing.
    await bob.send({"type": "typing", "session": s})
    for c in (alice1, alice2, bob):
        assert await c.expect("presence") == presence("typing", "bob", s, both)
    for c in (alice1, alice2, bob):
        await c.expect_nothing(0.2)
    for c in (alice1, alice2, bob):
        await c.close()


async def test_one_of_two_tabs_closing_is_no_leave_and_the_last_leaves_within_2s(gateway):
    s = unique()
    alice1, alice2, bob = await tab(gateway, "alice"), await tab(gateway, "alice"), await tab(gateway, "bob")
    for c in (alice1, alice2, bob):
        await join_with_roster(c, s)
    for c in (alice1, alice2):
        assert await c.expect("presence") == presence("join", "bob", s, {"alice": "user", "bob": "user"})
    await alice1.close()
    wait_until(lambda: connections(gateway) == 2, 5, what="the server to see the first tab closed")
    await alice2.send({"type": "typing", "session": s})
    assert await bob.expect("presence") == presence("typing", "alice", s, {"alice": "user", "bob": "user"}), \
        "closing one of alice's tabs made no leave"

    t0 = time.monotonic()
    await alice2.close()  # her last tab, closed cleanly
    assert await bob.expect("presence", timeout=2.0) == presence("leave", "alice", s, {"bob": "user"})
    assert time.monotonic() - t0 <= 2.0
    await bob.close()


async def test_a_leave_frame_leaves_and_the_leaver_hears_no_more(gateway):
    s = unique()
    alice, bob = await tab(gateway, "alice"), await tab(gateway, "bob")
    await join_with_roster(alice, s)
    await join_with_roster(bob, s)
    await alice.expect("presence")  # bob's join
    t0 = time.monotonic()
    await alice.send({"type": "leave", "session": s})
    assert await bob.expect("presence", timeout=2.0) == presence("leave", "alice", s, {"bob": "user"})
    assert time.monotonic() - t0 <= 2.0
    await bob.send({"type": "typing", "session": s})
    assert await bob.expect("presence") == presence("typing", "bob", s, {"bob": "user"})
    await alice.expect_nothing(0.3)
    # Joining again is a join again, with her roster.
    assert await join_with_roster(alice, s) == presence("join", "alice", s, {"alice": "user", "bob": "user"})
    assert await bob.expect("presence") == presence("join", "alice", s, {"alice": "user", "bob": "user"})
    await alice.close()
    await bob.close()


async def test_typing_fans_out_to_everyone_present_at_most_once_a_second(gateway):
    s = unique()
    alice1, alice2, bob = await tab(gateway, "alice"), await tab(gateway, "alice"), await tab(gateway, "bob")
    for c in (alice1, alice2, bob):
        await join_with_roster(c, s)
    for c in (alice1, alice2):
        await c.expect("presence")  # bob's join
    both = {"alice": "user", "bob": "user"}
    t0 = time.monotonic()
    for _ in range(5):  # a burst of key strokes
        await alice1.send({"type": "typing", "session": s})
    for c in (alice1, alice2, bob):  # the typist's own tabs too
        assert await c.expect("presence") == presence("typing", "alice", s, both)
    await bob.send({"type": "typing", "session": s})
    for c in (alice1, alice2, bob):
        assert await c.expect("presence") == presence("typing", "bob", s, both), "one typing of the burst, not five"
    # Another tab of the same user has a throttle of its own; after the interval alice1 may type again.
    await alice2.send({"type": "typing", "session": s})
    assert await bob.expect("presence") == presence("typing", "alice", s, both)
    await asyncio.sleep(max(0.0, 1.3 - (time.monotonic() - t0)))  # past the interval, as the server counts it
    await alice1.send({"type": "typing", "session": s})
    assert await bob.expect("presence") == presence("typing", "alice", s, both)
    for c in (alice1, alice2, bob):
        await c.close()


async def test_typing_needs_a_join(gateway):
    c = await tab(gateway, "alice")
    await c.send({"type": "typing", "session": "nowhere"})
    error = await c.expect("error")
    assert error["code"] == "not_joined", error
    await c.send({"type": "typing", "session": "has space"})
    assert (await c.expect("error"))["code"] == "bad_request"
    # The connection goes on: frames after a refused typing are handled.
    s = unique()
    await join_with_roster(c, s)
    await c.close()


async def test_presence_is_not_part_of_the_log(gateway):
    s = unique()
    alice, bob = await tab(gateway, "alice"), await tab(gateway, "bob")
    await join_with_roster(alice, s)
    await join_with_roster(bob, s)
    await bob.send({"type": "typing", "session": s})
    await alice.message(s, "m1", "hello")
    frames = await alice.recv_until(lambda f: f["type"] == "turn.end", timeout=10)
    events = [f for f in frames if "seq" in f and f["type"] not in ("ack", "joined")]
    assert events[0]["type"] == "message" and events[0]["seq"] == 1, events[:2]
    assert all(f["type"] != "presence" or "seq" not in f for f in frames)
    # A resume replays log events only; the roster comes afresh after `joined`.
    again = await tab(gateway, "carol")
    await again.send({"type": "join", "session": s, "after_seq": 0})
    assert (await again.expect("joined"))["recovered"] is True
    roster = await again.expect("presence")
    assert roster == presence("join", "carol", s, {"alice": "user", "bob": "user", "carol": "user"})
    replay = await again.recv_until(lambda f: f["type"] == "turn.end", timeout=10)
    assert [f["type"] for f in replay if f["type"] == "presence"] == [], replay
    for c in (alice, bob, again):
        await c.close()


async def test_clients_that_do_not_ask_for_presence_see_only_the_log(gateway):
    """The test harness sets presence aside unless asked (as clients ignore unknown frames)."""
    s = unique()
    plain = await WSClient.open(gateway.ws_url)
    await plain.join(s)
    await plain.expect_nothing(0.3)
    assert [f["event"] for f in plain.presence_frames] == ["join"], plain.presence_frames
    await plain.close()

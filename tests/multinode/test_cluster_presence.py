"""Presence across nodes: `{"type":"presence","session","event":"join|leave|typing","user","users":[{"user","role"}]}`,
deduplicated per user (several tabs, several nodes), a clean leave within 2 s, a SIGKILLed node's users
gone within 30 s, typing fanned out; never part of the seq'd log."""

from __future__ import annotations

import time

import pytest

from harness import unique
from cluster_client import Conn

FAST_DEMO = {"llm": {"models": {"demo": {"provider": "demo", "tokens": 5, "tokens_per_second": 400}}}}


def roster(frame: dict) -> dict[str, str]:
    """users of a presence frame as {user: role}; fails on a user listed twice."""
    users = frame["users"]
    assert isinstance(users, list), frame
    names = [u["user"] for u in users]
    assert len(names) == len(set(names)), f"a user listed twice (presence is per user, not per tab): {frame}"
    return {u["user"]: u["role"] for u in users}


def check_presence_frame(frame: dict, session: str) -> None:
    assert frame["session"] == session, frame
    assert frame["event"] in ("join", "leave", "typing"), frame
    assert isinstance(frame["user"], str) and frame["user"], frame
    assert "seq" not in frame, f"presence is not a log event: {frame}"
    roster(frame)


async def wait_presence(c: Conn, session: str, pred, timeout: float, what: str, start: int = 0) -> dict:
    _, frame = await c.wait_for(lambda f: f["type"] == "presence" and f.get("session") == session and pred(f),
                                timeout, what, start=start)
    check_presence_frame(frame, session)
    return frame


def left(user: str):
    return lambda f: f["event"] == "leave" and f["user"] == user


@pytest.mark.async_timeout(40)
async def test_presence_is_seen_from_every_node_and_deduplicated_per_user(cluster):
    a_node, b_node, c_node = cluster.start(3, FAST_DEMO)
    s = unique()
    alice_a = await Conn.open(a_node, user="alice", role="user")
    assert (alice_a.welcome["user"], alice_a.welcome["role"]) == ("alice", "user"), alice_a.welcome
    await alice_a.join(s)
    alice_b = await Conn.open(b_node, user="alice", role="user")  # a second tab, on another node
    await alice_b.join(s)
    bob = await Conn.open(c_node, user="bob", role="agent")
    assert bob.welcome["role"] == "agent", bob.welcome
    await bob.join(s)

    both = {"alice": "user", "bob": "agent"}
    for tab in (alice_a, alice_b):  # node c's join reaches nodes a and b
        frame = await wait_presence(tab, s, lambda f: f["event"] == "join" and f["user"] == "bob", 3,
                                    "bob's presence join")
        assert roster(frame) == both, frame
    # Bob (node c) learns who is there from alice's typing on node a.
    mark = len(bob.frames)
    await alice_a.send({"type": "typing", "session": s})
    frame = await wait_presence(bob, s, lambda f: f["event"] == "typing" and f["user"] == "alice", 3,
                                "alice's typing on node c", start=mark)
    assert roster(frame) == both, frame
    frame = await wait_presence(alice_b, s, lambda f: f["event"] == "typing" and f["user"] == "alice", 3,
                                "alice's typing on her other tab")
    # Every presence frame anyone got lists each user once (roster() checks), and alice's second
    # tab never made her join twice in anyone's eyes after she was present.
    for c in (alice_a, alice_b, bob):
        for f in c.presence(s):
            check_presence_frame(f, s)
    joins_of_alice_seen_by_a = [f for f in alice_a.presence(s) if f["event"] == "join" and f["user"] == "alice"]
    assert len(joins_of_alice_seen_by_a) <= 1, joins_of_alice_seen_by_a

    # Presence is not in the log: the first message of the session still gets seq 1.
    answer = await bob.message(s, "m1", "hello")
    assert answer == {**answer, "type": "ack", "seq": 1}, answer
    await alice_a.wait_reply(s, "m1")
    for c in (alice_a, alice_b, bob):
        await c.close()


@pytest.mark.async_timeout(40)
async def test_clean_leave_shows_within_2s_and_one_closed_tab_is_no_leave(cluster):
    a_node, b_node, c_node = cluster.start(3, FAST_DEMO)
    s = unique()
    alice_a = await Conn.open(a_node, user="alice")
    alice_b = await Conn.open(b_node, user="alice")
    bob = await Conn.open(c_node, user="bob", role="agent")
    watcher = await Conn.open(b_node, user="watcher", role="admin")
    for c in (alice_a, alice_b, bob, watcher):
        await c.join(s)
    frame = await wait_presence(watcher, s, lambda f: set(roster(f)) == {"alice", "bob", "watcher"}, 3,
                                "everyone present")
    assert roster(frame)["watcher"] == "admin", frame

    mark = len(watcher.frames)
    t0 = time.monotonic()
    await alice_a.close()  # one of alice's two tabs: she is still present
    await bob.close()
    frame = await wait_presence(watcher, s, left("bob"), 2.0, "bob's leave within 2 s", start=mark)
    assert time.monotonic() - t0 <= 2.0
    assert roster(frame) == {"alice": "user", "watcher": "admin"}, frame
    # Past the 2 s a leave takes at most, alice has still not left (her tab on node b remains).
    remaining = 2.5 - (time.monotonic() - t0)
    if remaining > 0:
        try:
            frame = await wait_presence(watcher, s, left("alice"), remaining, "alice's leave", start=mark)
        except AssertionError:
            pass
        else:
            raise AssertionError(f"closing one of alice's two tabs made her leave: {frame}")
    assert not [f for f in watcher.frames[mark:] if f["type"] == "presence" and left("alice")(f)], \
        "closing one of alice's two tabs made her leave"

    # Her last tab goes (a leave message this time, not a close).
    mark = len(watcher.frames)
    t0 = time.monotonic()
    await alice_b.send({"type": "leave", "session": s})
    frame = await wait_presence(watcher, s, left("alice"), 2.0, "alice's leave within 2 s", start=mark)
    assert time.monotonic() - t0 <= 2.0
    assert roster(frame) == {"watcher": "admin"}, frame
    await alice_b.close()
    await watcher.close()


@pytest.mark.async_timeout(60)
async def test_users_of_a_sigkilled_node_are_removed_within_30s(cluster):
    a_node, b_node, c_node = cluster.start(3, FAST_DEMO)
    s = unique()
    alice = await Conn.open(a_node, user="alice")
    bob = await Conn.open(b_node, user="bob")
    carol = await Conn.open(c_node, user="carol")  # on the node that dies
    dave_c = await Conn.open(c_node, user="dave")
    dave_a = await Conn.open(a_node, user="dave")  # dave has a tab on a surviving node too
    for c in (alice, bob, carol, dave_c, dave_a):
        await c.join(s)
    everyone = {"alice", "bob", "carol", "dave"}
    for c in (alice, bob):
        await wait_presence(c, s, lambda f: set(roster(f)) == everyone, 5, "all four present")

    marks = {c: len(c.frames) for c in (alice, bob)}
    t0 = time.monotonic()
    c_node.kill()
    for c in (alice, bob):
        frame = await wait_presence(c, s, left("carol"), 30.0 - (time.monotonic() - t0), "carol's leave within 30 s",
                                    start=marks[c])
        assert set(roster(frame)) <= {"alice", "bob", "dave"}, frame
    took = time.monotonic() - t0
    assert took <= 30.0, took
    # dave is still there (his tab on node a): the dead node's leases must not take him along.
    for c in (alice, bob):
        latest = c.presence(s)[-1]
        assert set(roster(latest)) == {"alice", "bob", "dave"}, latest
        assert not [f for f in c.frames[marks[c]:] if f["type"] == "presence" and left("dave")(f)], \
            "dave left although one of his tabs is on a live node"
    # A newcomer on a surviving node sees no ghost.
    erin = await Conn.open(b_node, user="erin")
    mark = len(alice.frames)
    await erin.join(s)
    frame = await wait_presence(alice, s, lambda f: f["event"] == "join" and f["user"] == "erin", 3, "erin's join",
                                start=mark)
    assert set(roster(frame)) == {"alice", "bob", "dave", "erin"}, frame
    for c in (alice, bob, dave_a, erin):
        await c.close()

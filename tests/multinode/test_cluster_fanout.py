"""Cross-node fan-out and resume: one session seen from three nodes."""

from __future__ import annotations

import asyncio

import pytest

from harness import assert_contiguous, covered, normalize, turn_text, unique
from cluster_client import Conn, assert_identical_events


def demo(tokens: int, tps: int) -> dict:
    return {"llm": {"models": {"demo": {"provider": "demo", "tokens": tokens, "tokens_per_second": tps}}}}


def check_turns(events: list[dict]) -> None:
    """Every turn.start has exactly one turn.end, after it; deltas fall inside their turn."""
    open_turn = None
    for ev in events:
        if ev["type"] == "turn.start":
            assert open_turn is None, f"turn.start while {open_turn} runs: {ev}"
            open_turn = ev["turn"]
        elif ev["type"] == "turn.delta":
            assert ev["turn"] == open_turn, ev
        elif ev["type"] == "turn.end":
            assert ev["turn"] == open_turn, ev
            open_turn = None


@pytest.mark.async_timeout(40)
async def test_subscribers_on_two_nodes_get_byte_identical_events(cluster):
    a_node, b_node, c_node = cluster.start(3, demo(30, 60))
    a = await Conn.open(a_node, user="sub-a")
    b = await Conn.open(b_node, user="sub-b")
    sender = await Conn.open(c_node, user="sender")
    s = unique()
    for c in (a, b, sender):
        await c.join(s)
    for i in range(3):
        ack = await sender.message(s, f"m{i}", f"turn {i} from node c")
        assert ack["type"] == "ack", ack
        end = await sender.wait_reply(s, f"m{i}")
        await a.wait_seq(s, end["seq"])
        await b.wait_seq(s, end["seq"])
    last = sender.last_seq(s)
    for c in (a, b, sender):
        assert_contiguous(c.events(s), 1)
        check_turns(c.events(s))
        assert c.last_seq(s) == last, (c, c.last_seq(s), last)
    # The same frames, byte for byte (each event is encoded once, where it is appended).
    non_deltas = len([e for e in a.events(s) if e["type"] != "turn.delta"])
    assert assert_identical_events(a, b, s) >= non_deltas
    assert assert_identical_events(a, sender, s) >= non_deltas
    assert len(a.of_type("turn.end")) == 3 and all(e["finish"] == "stop" for e in a.of_type("turn.end"))
    for c in (a, b, sender):
        await c.close()


@pytest.mark.async_timeout(40)
async def test_resume_on_another_node_while_the_reply_streams(cluster):
    # ~3 s reply: the client on node a drops mid-stream and resumes on node b with after_seq.
    a_node, b_node, c_node = cluster.start(3, demo(90, 30))
    ref = await Conn.open(c_node, user="reference")
    x = await Conn.open(a_node, user="roamer")
    s = unique()
    await ref.join(s)
    await x.join(s)
    assert (await ref.message(s, "m1", "a long reply please"))["type"] == "ack"
    await x.wait_for(lambda f: f["type"] == "turn.delta" and covered(f).stop - 1 >= 8, 10, "a few deltas on node a")
    x.drop()
    await x.wait_closed(3)
    before = x.events(s)
    applied = assert_contiguous(before, 1)
    # Events the dropped client missed exist by now.
    await ref.wait_seq(s, applied + 5, timeout=10)

    y = await Conn.open(b_node, user="roamer")
    joined = await y.join(s, after_seq=applied)
    assert joined["recovered"] is True, joined
    assert joined["seq"] >= applied + 5, joined
    end = await y.wait_turn_end(s, timeout=15)
    assert end["finish"] == "stop", end
    after = y.events(s)
    assert_contiguous(after, applied + 1)  # no gap, no duplicate at the seam
    await ref.wait_seq(s, end["seq"])
    assert normalize(before + after) == normalize(ref.events(s))
    assert turn_text(before + after) == turn_text(ref.events(s))
    await ref.close()
    await y.close()


@pytest.mark.async_timeout(40)
async def test_resume_on_another_node_after_the_turn(cluster):
    a_node, b_node, c_node = cluster.start(3, demo(20, 400))
    x = await Conn.open(a_node, user="roamer")
    s = unique()
    await x.join(s)
    for i in range(2):
        assert (await x.message(s, f"m{i}", f"question {i}"))["type"] == "ack"
        await x.wait_reply(s, f"m{i}")
    full = x.events(s)
    last = assert_contiguous(full, 1)
    x.drop()

    # Resume from the middle on node b: exactly the rest.
    middle = full[len(full) // 2]["seq"]
    y = await Conn.open(b_node, user="roamer")
    joined = await y.join(s, after_seq=middle)
    assert (joined["seq"], joined["recovered"]) == (last, True), joined
    await y.wait_seq(s, last)
    assert_contiguous(y.events(s), middle + 1)
    assert normalize(y.events(s)) == normalize([e for e in full if e["seq"] > middle])

    # Up to date on node c: nothing replayed, and live events from node b follow without a gap.
    z = await Conn.open(c_node, user="roamer")
    joined = await z.join(s, after_seq=last)
    assert (joined["seq"], joined["recovered"]) == (last, True), joined
    assert (await y.message(s, "m9", "live again"))["type"] == "ack"
    end = await z.wait_reply(s, "m9")
    assert_contiguous(z.events(s), last + 1)
    assert z.events(s)[0]["type"] == "message" and z.events(s)[0]["id"] == "m9"
    # A join without after_seq on a third node replays the whole untrimmed log.
    w = await Conn.open(c_node, user="late")
    joined = await w.join(s)
    assert joined["seq"] == end["seq"] and joined["recovered"] is False, joined
    await w.wait_seq(s, end["seq"])
    assert normalize(w.events(s)) == normalize(full + z.events(s))
    for c in (y, z, w):
        await c.close()


@pytest.mark.async_timeout(60)
async def test_concurrent_messages_from_three_nodes_keep_seq_gap_free(cluster):
    nodes = cluster.start(3, demo(4, 400))
    s = unique()
    senders = []
    for i, node in enumerate(nodes):
        for j in range(2):
            c = await Conn.open(node, user=f"u{i}{j}")
            await c.join(s)
            senders.append(c)
    per_sender = 4
    acked: dict[str, int] = {}
    busy = 0

    async def run(c: Conn):
        nonlocal busy
        sent = 0
        attempt = 0
        while sent < per_sender:
            attempt += 1
            mid = f"{c.label}-{sent}"
            answer = await c.message(s, mid, f"{c.label} says {sent}", timeout=10)
            if answer["type"] == "ack":
                assert mid not in acked, answer
                acked[mid] = answer["seq"]
                sent += 1
            else:
                assert answer["code"] == "busy", answer
                busy += 1
                # Wait until the turn holding the session (the latest turn.start seen here) has
                # ended, then race the others again.
                starts = [e for e in c.events(s) if e["type"] == "turn.start"]
                if starts:
                    await c.wait_turn_end(s, starts[-1]["turn"], timeout=10)
                else:
                    await c.wait_for(lambda f: f["type"] == "turn.start", 10, "the busy turn's turn.start")
            assert attempt < 500, f"{c} never got message {sent} in"

    await asyncio.gather(*(run(c) for c in senders))
    total = len(senders) * per_sender
    assert len(acked) == total
    # Wait until every subscriber has seen the last turn's end.
    for c in senders:
        await c.wait_until(lambda c=c: len([g for g in c.events(s) if g["type"] == "turn.end"]) >= total,
                           15, f"{total} turn.ends")
    reference = senders[0].events(s)
    last = assert_contiguous(reference, 1)
    check_turns(reference)
    messages = [e for e in reference if e["type"] == "message"]
    assert sorted(e["id"] for e in messages) == sorted(acked), "exactly the acked messages were appended, once each"
    assert all(acked[e["id"]] == e["seq"] for e in messages), "each ack names its message's seq"
    for c in senders[1:]:
        assert_identical_events(senders[0], c, s)
    assert last == reference[-1]["seq"] and reference[-1]["type"] == "turn.end"
    assert [e["type"] for e in reference].count("turn.start") == total == [e["type"] for e in reference].count("turn.end")
    for c in senders:
        await c.close()


@pytest.mark.async_timeout(30)
async def test_one_message_id_sent_from_three_nodes_is_appended_once(cluster):
    nodes = cluster.start(3, demo(4, 400))
    s = unique()
    # Three users, so the one message event that is appended tells whose it was.
    conns = [await Conn.open(node, user=f"sender-{i}") for i, node in enumerate(nodes)]
    for c in conns:
        await c.join(s)
    answers = await asyncio.gather(*(c.message(s, "dup-1", "only once") for c in conns))
    assert all(a["type"] == "ack" for a in answers), f"a resent id gets the original ack, never busy: {answers}"
    assert {a["seq"] for a in answers} == {1}, answers
    for c in conns:
        await c.wait_reply(s, "dup-1")
    for c in conns:
        evs = c.events(s)
        assert_contiguous(evs, 1)
        assert [e["id"] for e in evs if e["type"] == "message"] == ["dup-1"], evs
        assert len([e for e in evs if e["type"] == "turn.start"]) == 1
    assert_identical_events(conns[0], conns[1], s)
    assert_identical_events(conns[0], conns[2], s)
    for c in conns:
        await c.close()


@pytest.mark.async_timeout(30)
async def test_one_active_turn_cluster_wide(cluster):
    a_node, b_node, _ = cluster.start(3, demo(40, 40))  # ~1 s turn
    a = await Conn.open(a_node, user="first")
    b = await Conn.open(b_node, user="second")
    s = unique()
    await a.join(s)
    await b.join(s)
    assert (await a.message(s, "ma", "from a"))["type"] == "ack"
    await b.wait_for(lambda f: f["type"] == "turn.start", 5, "turn.start on node b")
    answer = await b.message(s, "mb", "from b")
    assert answer["type"] == "error" and answer["code"] == "busy", answer
    end = await a.wait_turn_end(s)
    await b.wait_seq(s, end["seq"])
    assert [e["id"] for e in b.events(s) if e["type"] == "message"] == ["ma"]
    # The id stays unused: accepted once the turn has ended.
    answer = await b.message(s, "mb", "from b")
    assert answer["type"] == "ack" and answer["seq"] == end["seq"] + 1, answer
    await a.close()
    await b.close()

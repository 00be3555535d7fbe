"""The client session against the simulated ISMG in a process of its own, over TCP: login errors,
hundreds of texts through the window, flow control, dropped links, keep-alive, and everything the
ISMG delivers answered and handed on."""
import asyncio
import collections

import pytest

from notifier.gateways.cmpp import session as cmpp
from notifier.gateways.cmpp.session import ConnectRejected, Reply, Report, Session
from tests.simulator.cmpp_process import CmppSim, session_settings

from .conftest import run, until

NOTICE = "【县人大常委会】各位代表：县人大常委会定于3月15日上午9时召开第二十次会议，请准时参加。回复1确认，回复2请假。"
LONG = NOTICE * 3  # 3 parts of 67


class Inbox:
    """What on_deliver was handed, by kind."""

    def __init__(self, fail_first=0):
        self.reports, self.replies, self.fail_first = [], [], fail_first

    async def __call__(self, event):
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("the database is down")
        (self.reports if isinstance(event, Report) else self.replies).append(event)

    def report_counts(self):
        return collections.Counter(r.msg_id for r in self.reports)


def numbers(count, start=0):
    return [f"+86139{i:08d}" for i in range(start, start + count)]


# -- login ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "override, status, words",
    [({"shared_secret": "wrong"}, 3, "authentication failed"), ({"sp_id": "999999"}, 2, "Source_Addr")],
)
def test_a_refused_login_is_a_clear_error(sim, override, status, words):
    async def body():
        session = Session(sim.settings(**override))
        await session.start()
        with pytest.raises(ConnectRejected) as caught:
            await session.wait_ready(10)
        assert session.state == cmpp.REJECTED
        await session.close()
        return caught.value

    error = run(body())
    assert error.status == status and words in str(error)
    assert sim.stats()["login_failures"] >= 1 and not sim.stats().get("logins")


def test_no_ismg_to_reach_means_transient_and_a_timeout_naming_the_cause():
    async def body():
        session = Session(session_settings("127.0.0.1", 1, submit_wait=0.3))  # nobody listens
        await session.start()
        result = await session.submit("+8613800138000", NOTICE)
        with pytest.raises(TimeoutError, match="no CMPP link"):
            await session.wait_ready(0.3)
        await session.close()
        return result, session

    result, session = run(body())
    assert result.outcome == cmpp.TRANSIENT and result.msg_ids == []
    assert session.state == cmpp.CLOSED


# -- the window ----------------------------------------------------------------------------
def test_hundreds_of_texts_through_a_window_of_16_each_with_its_own_msg_id_reported_once(sim):
    sim.configure(latency_ms="5-30", report_after_ms="0-300")
    inbox = Inbox()
    to = numbers(300)

    async def body():
        async with Session(sim.settings(window=16), on_deliver=inbox) as session:
            await session.wait_ready(10)
            results = await asyncio.gather(
                *(session.submit(n, f"{NOTICE}（第{i}号）", extension="27") for i, n in enumerate(to))
            )
            await until(lambda: len(inbox.reports) >= 300, what="300 reports")
            await until(lambda: sim.stats()["pending_delivers"] == 0, what="every DELIVER answered")
            return results

    results = run(body())
    assert {r.outcome for r in results} == {cmpp.ACCEPTED}
    ids = [r.gateway_id for r in results]
    assert len(set(ids)) == 300
    assert inbox.report_counts() == dict.fromkeys(ids, 1)
    assert all(r.delivered for r in inbox.reports)
    assert {r.msg_id: r.to for r in inbox.reports} == dict(zip(ids, to, strict=True))

    stats = sim.stats()
    assert 2 <= stats["peak_in_flight"] <= 16  # the window was used, and never overrun
    assert not stats.get("flow_control_window")
    taken = {m["msg_ids"][0]: m for m in sim.messages()}
    assert set(taken) == set(ids)
    for i, (msg_id, number) in enumerate(zip(ids, to, strict=True)):
        assert taken[msg_id]["dest"] == [number.removeprefix("+86")]
        assert taken[msg_id]["src_id"] == "106571234527"
        assert taken[msg_id]["text"] == f"{NOTICE}（第{i}号）"
        assert taken[msg_id]["msg_src"] == "900001"


def test_a_long_text_goes_in_parts_each_with_a_msg_id_and_a_report(sim):
    inbox = Inbox()

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            result = await session.submit("+8613800138000", LONG)
            await until(lambda: len(inbox.reports) == 3, what="a report per part")
            return result

    result = run(body())
    assert result.outcome == cmpp.ACCEPTED and len(result.msg_ids) == 3
    (taken,) = sim.messages()
    assert taken["text"] == LONG and taken["complete"] and taken["msg_ids"] == result.msg_ids
    assert sorted(r.msg_id for r in inbox.reports) == sorted(result.msg_ids)


# -- flow control --------------------------------------------------------------------------
def test_flow_control_is_slow_down_not_a_failure_and_a_later_try_goes_through(sim):
    sim.configure(rate_cap=5)
    to = numbers(40)

    async def body():
        async with Session(sim.settings()) as session:
            await session.wait_ready(10)
            first = await asyncio.gather(*(session.submit(n, NOTICE) for n in to))
            sim.configure(rate_cap=0)
            slowed = [n for n, r in zip(to, first, strict=True) if r.outcome == cmpp.FLOW_CONTROL]
            again = await asyncio.gather(*(session.submit(n, NOTICE) for n in slowed))
            return first, again

    first, again = run(body())
    outcomes = collections.Counter(r.outcome for r in first)
    assert set(outcomes) == {cmpp.ACCEPTED, cmpp.FLOW_CONTROL}
    assert all(r.result == 8 and not r.msg_ids for r in first if r.outcome == cmpp.FLOW_CONTROL)
    assert {r.outcome for r in again} == {cmpp.ACCEPTED}
    taken = sorted(m["dest"][0] for m in sim.messages())
    assert taken == sorted(n.removeprefix("+86") for n in to)  # each once, nothing lost


def test_later_parts_slowed_down_are_retried_so_no_half_text_is_left(sim):
    sim.configure(rate_cap=10)
    to = numbers(20)

    async def body():
        async with Session(sim.settings(part_patience=60)) as session:
            await session.wait_ready(10)
            return await asyncio.gather(*(session.submit(n, LONG) for n in to))

    results = run(body())
    assert {r.outcome for r in results} <= {cmpp.ACCEPTED, cmpp.FLOW_CONTROL}
    accepted = {n.removeprefix("+86") for n, r in zip(to, results, strict=True) if r.outcome == cmpp.ACCEPTED}
    assert accepted
    taken = sim.messages()
    assert {m["dest"][0] for m in taken} == accepted
    assert all(m["complete"] and m["text"] == LONG and not m["duplicate_parts"] for m in taken)
    assert sim.stats()["flow_control_rate"] > 0


def test_the_simulator_enforces_the_window_with_flow_control(sim):
    sim.configure(window=4, latency_ms=100)

    async def body():
        async with Session(sim.settings(window=12)) as session:  # more than the ISMG allows
            await session.wait_ready(10)
            return await asyncio.gather(*(session.submit(n, NOTICE) for n in numbers(24)))

    outcomes = collections.Counter(r.outcome for r in run(body()))
    assert outcomes[cmpp.FLOW_CONTROL] > 0 and outcomes[cmpp.ACCEPTED] > 0
    assert sim.stats()["peak_in_flight"] <= 4


# -- refusals ------------------------------------------------------------------------------
def test_a_refused_number_is_permanent_with_the_ismgs_result(sim):
    sim.configure(refused_numbers={"13800000009": 13})

    async def body():
        async with Session(sim.settings()) as session:
            await session.wait_ready(10)
            return (
                await session.submit("+8613800000009", NOTICE),
                await session.submit("+14155550100", NOTICE),
                await session.submit("+8613800000010", ""),
            )

    refused, foreign, empty = run(body())
    assert (refused.outcome, refused.result) == (cmpp.PERMANENT, 13)
    assert foreign.outcome == cmpp.PERMANENT and foreign.parts == [] and "mainland" in foreign.error
    assert empty.outcome == cmpp.PERMANENT and empty.parts == []
    assert sim.messages() == []


def test_an_extension_that_cannot_go_in_a_src_id_is_the_callers_error(sim):
    async def body():
        async with Session(sim.settings()) as session:
            with pytest.raises(ValueError):
                await session.submit("+8613800138000", NOTICE, extension="1234567")

    run(body())


# -- dropped links -------------------------------------------------------------------------
def test_a_dropped_link_leaves_in_flight_submits_unknown_and_the_session_comes_back(sim):
    sim.configure(latency_ms=50, drop_after=40)
    to = numbers(150)

    async def body():
        async with Session(sim.settings(window=16)) as session:
            await session.wait_ready(10)
            results = await asyncio.gather(*(session.submit(n, NOTICE) for n in to))
            sim.configure(drop_after=0)
            after = await session.submit("+8613700137000", NOTICE)
            return results, after, dict(session.stats)

    results, after, stats = run(body())
    by_outcome = collections.defaultdict(set)
    for number, result in zip(to, results, strict=True):
        by_outcome[result.outcome].add(number.removeprefix("+86"))
    assert set(by_outcome) == {cmpp.ACCEPTED, cmpp.UNKNOWN}
    assert stats["connects"] >= 3 and stats["links_lost"] >= 2
    assert after.outcome == cmpp.ACCEPTED

    taken = {m["dest"][0] for m in sim.messages()}
    # What the session says was taken was taken; what it calls unknown may or may not have been.
    assert by_outcome[cmpp.ACCEPTED] <= taken
    assert taken - {"13700137000"} <= by_outcome[cmpp.ACCEPTED] | by_outcome[cmpp.UNKNOWN]
    assert taken & by_outcome[cmpp.UNKNOWN]  # the ISMG had some that the SP never heard of


def test_a_peer_that_stops_answering_is_found_dead_and_the_link_made_again(sim):
    settings = sim.settings(idle_interval=0.2, active_test_timeout=0.2, active_test_misses=3)

    async def body():
        async with Session(settings) as session:
            await session.wait_ready(10)
            sim.configure(mute=True)
            await until(lambda: session.stats["links_lost"] >= 1, what="the dead link dropped")
            sim.configure(mute=False)
            await until(lambda: session.state == cmpp.READY and session._link is not None)
            return await session.submit("+8613800138000", NOTICE), dict(session.stats)

    result, stats = run(body())
    assert stats["active_tests_sent"] >= 3
    assert result.outcome == cmpp.ACCEPTED
    assert sim.stats()["connections"] >= 2


def test_active_tests_from_the_ismg_are_answered(sim):
    sim.configure(active_test_interval=0.2)

    async def body():
        async with Session(sim.settings(idle_interval=60)) as session:
            await session.wait_ready(10)
            await until(lambda: session.stats["active_tests_answered"] >= 2, what="the ISMG's tests")
            return dict(session.stats)

    stats = run(body())
    assert stats["active_tests_sent"] == 0  # the ISMG's tests keep the link from going quiet
    assert sim.stats()["active_test_resps"] >= 2


def test_an_idle_session_sends_active_tests(sim):
    sim.configure(active_test_interval=0)

    async def body():
        async with Session(sim.settings(idle_interval=0.2, active_test_timeout=5)) as session:
            await session.wait_ready(10)
            await until(lambda: sim.stats().get("active_tests_received", 0) >= 2, what="our tests")
            return dict(session.stats)

    stats = run(body())
    assert stats["active_tests_sent"] >= 2 and stats["links_lost"] == 0


def test_close_terminates_the_session(sim):
    async def body():
        session = Session(sim.settings())
        await session.start()
        await session.wait_ready(10)
        await session.close()
        return session

    session = run(body())
    assert session.state == cmpp.CLOSED
    stats = sim.wait_until(lambda: sim.stats() if sim.stats()["live_connections"] == 0 else None)
    assert stats["terminates_received"] == 1


def test_close_lets_submits_in_flight_be_answered_and_sends_no_more(sim):
    sim.configure(latency_ms=100)
    to = numbers(60)

    async def body():
        session = Session(sim.settings(window=16))
        await session.start()
        await session.wait_ready(10)
        sending = asyncio.gather(*(session.submit(n, NOTICE) for n in to))
        await until(lambda: session.stats["parts_sent"] >= 16 or session._link.pending)
        await session.close()
        return await sending

    results = run(body())
    by_outcome = collections.defaultdict(set)
    for number, result in zip(to, results, strict=True):
        by_outcome[result.outcome].add(number.removeprefix("+86"))
    assert set(by_outcome) == {cmpp.ACCEPTED, cmpp.TRANSIENT}  # nothing left unknown
    assert {m["dest"][0] for m in sim.messages()} == by_outcome[cmpp.ACCEPTED]
    assert sim.wait_until(lambda: sim.stats().get("terminates_received")) == 1


def test_an_ismg_that_ends_the_session_is_answered_and_found_again_when_it_is_back():
    first = CmppSim()
    port = first.port

    async def body():
        async with Session(first.settings()) as session:
            await session.wait_ready(10)
            code = await asyncio.to_thread(first.stop)  # SIGTERM: it TERMINATEs us first
            await until(lambda: session.state != cmpp.READY, what="the session to notice")
            terminated = session.stats["terminated_by_ismg"]
            second = await asyncio.to_thread(CmppSim, "--port", str(port))
            try:
                await session.wait_ready(20)
                result = await session.submit("+8613800138000", NOTICE)
                return code, terminated, result, second.messages()
            finally:
                await asyncio.to_thread(second.stop)

    code, terminated, result, taken = run(body())
    assert code == 0
    assert terminated == 1
    assert result.outcome == cmpp.ACCEPTED and taken[0]["msg_ids"] == result.msg_ids


# -- what the ISMG delivers ----------------------------------------------------------------
def test_replies_in_ucs2_ascii_and_gbk_reach_the_callback_threaded_by_extension(sim):
    inbox = Inbox()

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            sent = [
                sim.mo("13800138000", "106571234527", "收到，准时参加", 8),
                sim.mo("8613900139000", "1065712345", "1", 0),
                sim.mo("13700137000", "106571234599", "请假", 15),
            ]
            await until(lambda: len(inbox.replies) == 3, what="three replies")
            return sent

    sent = run(body())
    replies = {r.text: r for r in inbox.replies}
    assert (replies["收到，准时参加"].sender, replies["收到，准时参加"].extension) == ("+8613800138000", "27")
    assert (replies["1"].sender, replies["1"].extension, replies["1"].msg_fmt) == ("+8613900139000", "", 0)
    assert (replies["请假"].extension, replies["请假"].msg_fmt) == ("99", 15)
    assert sorted(r.gateway_id for r in inbox.replies) == sorted(s["msg_ids"][0] for s in sent)
    assert all(r.complete for r in inbox.replies)
    assert [m["answered"] for m in sim.get("/_sim/mo")["mos"]] == [1, 1, 1]


def test_a_long_reply_arrives_as_one_text(sim):
    inbox = Inbox()
    reply = "关于道路改造的建议：" + "希望县里加快乡村道路硬化工程，" * 10

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            sent = sim.mo("13800138000", "106571234527", reply, 8)
            await until(lambda: sim.get("/_sim/mo")["mos"][0]["answered"] == sent["parts"])
            return sent

    sent = run(body())
    assert sent["parts"] == 3
    (got,) = inbox.replies
    assert got.text == reply and got.complete and list(got.msg_ids) == sent["msg_ids"]


def test_duplicated_reports_and_replies_are_each_answered_and_handed_on_by_msg_id(sim):
    sim.configure(duplicate_report_rate=1, duplicate_mo_rate=1)
    inbox = Inbox()

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            results = await asyncio.gather(*(session.submit(n, NOTICE) for n in numbers(5)))
            short = sim.mo("13800138000", "1065712345", "1", 0)
            long = sim.mo("13800138001", "1065712345", "县" * 150, 8)
            await until(lambda: len(inbox.reports) == 10 and len(inbox.replies) >= 2)
            await until(lambda: sim.stats()["pending_delivers"] == 0, what="every copy answered")
            return results, short, long

    results, short, long = run(body())
    assert inbox.report_counts() == {r.gateway_id: 2 for r in results}  # the connector counts once
    by_id = collections.Counter(r.gateway_id for r in inbox.replies)
    assert by_id[short["msg_ids"][0]] == 2  # a single part: handed on each time, same Msg_Id
    assert by_id[long["msg_ids"][0]] == 1  # a joined text is handed on once
    assert all(m["answered"] == 2 * m["parts"] for m in sim.get("/_sim/mo")["mos"])
    reports = [r for m in sim.messages() for r in m["reports"]]
    assert all(r["answered"] == 2 for r in reports)


def test_a_deliver_the_callback_cannot_take_stays_unanswered_and_comes_again(sim):
    sim.configure(deliver_resend_ms=300)
    inbox = Inbox(fail_first=1)

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            sim.mo("13800138000", "106571234527", "1", 0)
            await until(lambda: len(inbox.replies) == 1, what="the reply, delivered again")
            return dict(session.stats)

    stats = run(body())
    assert stats["handler_errors"] == 1
    assert inbox.replies[0].text == "1"
    assert sim.stats()["delivers_resent"] >= 1
    assert sim.get("/_sim/mo")["mos"][0]["answered"] == 1


def test_undelivered_and_lost_reports(sim):
    sim.configure(
        undelivered_numbers={"13800000001": "UNDELIV", "13800000002": "MA:0001"},
        lost_report_numbers=["13800000003"],
    )
    inbox = Inbox()

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            results = await asyncio.gather(
                *(session.submit(f"+861380000000{i}", NOTICE) for i in range(4))
            )
            await until(lambda: len(inbox.reports) == 3)
            await until(lambda: sim.stats()["pending_delivers"] == 0)
            return results

    results = run(body())
    stats = {r.to: r.stat for r in inbox.reports}
    assert stats == {"+8613800000000": "DELIVRD", "+8613800000001": "UNDELIV", "+8613800000002": "MA:0001"}
    assert [r.delivered for r in sorted(inbox.reports, key=lambda r: r.to)] == [True, False, False]
    assert {r.outcome for r in results} == {cmpp.ACCEPTED}


def test_simulated_deputies_reply_to_the_number_a_text_came_from(sim):
    sim.configure(reply_rate=1, reply_after_ms=0, reply_mix={"confirm": 1}, reply_formats={"0": 1})
    inbox = Inbox()

    async def body():
        async with Session(sim.settings(), on_deliver=inbox) as session:
            await session.wait_ready(10)
            await session.submit("+8613800138000", NOTICE, extension="31")
            await until(lambda: inbox.replies, what="the deputy's reply")

    run(body())
    (reply,) = inbox.replies
    assert (reply.sender, reply.extension, reply.dest_id) == ("+8613800138000", "31", "106571234531")
    assert reply.text.startswith("1") or reply.text == "确认"
    assert isinstance(reply, Reply)

"""The ISMG simulator as an SP sees it over raw CMPP: the login checks, what it refuses in a
SUBMIT, the window it enforces, its Msg_Ids, reports and MO texts, the control API, and starting
and stopping it as a command."""
import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import datetime

import pytest

from notifier.gateways.cmpp import codec
from notifier.gateways.cmpp import text as content
from notifier.simulator.cmpp.config import DEFAULT_SECRET, DEFAULT_SP_ID

from .cmpp_process import ROOT, CmppSim, run


@pytest.fixture(scope="module")
def ismg():
    sim = CmppSim()
    yield sim
    sim.stop()


@pytest.fixture
def sim(ismg):
    ismg.restore()
    yield ismg
    ismg.restore()


class Raw:
    """A bare CMPP connection: PDUs in, PDUs out, nothing answered unless the test does it."""

    def __init__(self, reader, writer):
        self.reader, self.writer, self.seq = reader, writer, 0

    @classmethod
    async def open(cls, sim):
        return cls(*await asyncio.open_connection(sim.host, sim.port))

    def send(self, *pdus):
        self.writer.write(b"".join(p.pack() for p in pdus))

    async def read(self, timeout=10):
        return await asyncio.wait_for(codec.read_pdu(self.reader), timeout)

    async def login(self, sp_id=DEFAULT_SP_ID, secret=DEFAULT_SECRET, version=codec.VERSION):
        pdu = codec.connect_pdu(sp_id, secret, datetime.now(), sequence_id=1)
        pdu.version = version
        self.send(pdu)
        return pdu, await self.read()

    def submit(self, seq, **fields):
        values = {
            "sequence_id": seq, "pk_total": 1, "pk_number": 1, "registered_delivery": 1,
            "msg_fmt": 8, "msg_src": DEFAULT_SP_ID, "src_id": "1065712345",
            "dest_terminal_id": ("13800138000",), "msg_content": "测试".encode("utf-16-be"), **fields,
        }
        return codec.Submit(**values)

    async def closed(self, timeout=10):
        """True once the simulator has closed the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(), timeout) == b""
        except ConnectionResetError:
            return True


# -- login ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "login, status",
    [({}, 0), ({"sp_id": "900002"}, 2), ({"secret": "guess"}, 3), ({"version": 0x30}, 4)],
)
def test_connect_is_checked_like_a_real_ismg(sim, login, status):
    async def body():
        raw = await Raw.open(sim)
        request, answer = await raw.login(**login)
        closed = await raw.closed(timeout=2) if status else None
        return request, answer, closed

    request, answer, closed = run(body())
    assert isinstance(answer, codec.ConnectResp) and answer.sequence_id == request.sequence_id
    assert answer.status == status and answer.version == 0x20
    assert answer.authenticator_ismg == codec.authenticator_ismg(
        status, request.authenticator_source, DEFAULT_SECRET
    )
    if status:
        assert closed  # a refused SP is shown the door


def test_anything_but_a_connect_first_closes_the_connection(sim):
    async def body():
        raw = await Raw.open(sim)
        raw.send(raw.submit(1))
        return await raw.closed()

    assert run(body())
    assert sim.stats()["not_a_login"] == 1


# -- SUBMIT --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, result",
    [
        ({}, 0),
        ({"msg_src": "900002"}, 11),
        ({"src_id": "1069999999"}, 10),
        ({"src_id": "10657123451234567"}, 10),  # a 7-digit extension
        ({"dest_terminal_id": ("8613800138000",)}, 13),  # numbers go as 11 digits
        ({"msg_content": bytes(141)}, 6),
        ({"pk_total": 2, "pk_number": 3}, 1),
        ({"tp_udhi": 1, "msg_content": b"\x09\x00\x03"}, 1),
    ],
)
def test_a_submit_is_checked_like_a_real_ismg(sim, fields, result):
    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(raw.submit(7, **fields))
        return await raw.read()

    answer = run(body())
    assert isinstance(answer, codec.SubmitResp) and answer.sequence_id == 7
    assert answer.result == result
    assert (answer.msg_id != 0) == (result == 0)
    assert len(sim.messages()) == (1 if result == 0 else 0)


def test_a_service_id_is_checked_when_one_is_configured(sim):
    sim.configure(service_id="RDTZ")

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(raw.submit(1, service_id="OTHER"), raw.submit(2, service_id="RDTZ"))
        return {p.sequence_id: p.result for p in [await raw.read(), await raw.read()]}

    assert run(body()) == {1: 7, 2: 0}


def test_the_window_is_enforced_per_connection_with_flow_control(sim):
    sim.configure(latency_ms=300)

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(*(raw.submit(seq, registered_delivery=0) for seq in range(1, 21)))
        return [await raw.read() for _ in range(20)]

    answers = run(body())
    refused = sorted(a.sequence_id for a in answers if a.result == codec.FLOW_CONTROL)
    accepted = sorted(a.sequence_id for a in answers if a.result == 0)
    assert refused == [17, 18, 19, 20] and accepted == list(range(1, 17))
    assert answers[:4] == sorted(answers[:4], key=lambda a: a.sequence_id)  # refused at once
    assert sim.stats()["flow_control_window"] == 4 and sim.stats()["peak_in_flight"] == 16


def test_a_sequence_id_still_in_flight_is_a_repeat(sim):
    sim.configure(latency_ms=300)

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(raw.submit(5, registered_delivery=0), raw.submit(5, registered_delivery=0))
        return [await raw.read(), await raw.read()]

    first, second = run(body())
    assert (first.result, second.result) == (3, 0)


def test_msg_ids_are_built_as_the_ismg_does_and_all_differ(sim):
    sim.configure(gateway_code=4321)

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(*(raw.submit(seq) for seq in range(1, 201)))
        answers = []
        while len(answers) < 200:
            answer = await raw.read()
            if isinstance(answer, codec.SubmitResp):
                answers.append(answer)
            else:  # reports are coming already
                raw.send(codec.DeliverResp(sequence_id=answer.sequence_id, msg_id=answer.msg_id))
        return answers

    sim.configure(window=200)
    answers = run(body())
    ids = [codec.MsgId.from_int(a.msg_id) for a in answers if a.result == 0]
    assert len(ids) == len(answers) and len(set(ids)) == len(ids)
    assert {i.gateway for i in ids} == {4321}
    assert all(1 <= i.month <= 12 and 1 <= i.day <= 31 and i.hour < 24 for i in ids)


# -- what it delivers ----------------------------------------------------------------------
def test_a_report_names_the_submits_msg_id_and_comes_again_until_answered(sim):
    sim.configure(report_after_ms=0, deliver_resend_ms=200, undelivered_numbers={"13800138000": "UNDELIV"})

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(raw.submit(1, src_id="106571234527"))
        pdus = [await raw.read() for _ in range(3)]  # the first report left unanswered: again
        resp = next(p for p in pdus if isinstance(p, codec.SubmitResp))
        first, again = [p for p in pdus if isinstance(p, codec.Deliver)]
        raw.send(codec.DeliverResp(sequence_id=again.sequence_id, msg_id=again.msg_id))
        return resp, first, again

    resp, first, again = run(body())
    assert isinstance(first, codec.Deliver) and first.registered_delivery == 1
    assert (first.dest_id, first.src_terminal_id) == ("106571234527", "13800138000")
    report = first.report
    assert report.msg_id == resp.msg_id and report.stat == "UNDELIV"
    assert report.dest_terminal_id == "13800138000" and re.fullmatch(r"\d{10}", report.submit_time)
    assert again.msg_id == first.msg_id and again.sequence_id != first.sequence_id
    sim.wait_until(lambda: sim.messages()[0]["reports"][0]["answered"] == 1)
    assert sim.stats()["delivers_resent"] >= 1


@pytest.mark.parametrize(
    "msg_fmt, body, parts",
    [(8, "收到" * 40, 2), (15, "1请假" * 50, 2), (0, "1", 1), (0, "x" * 300, 3)],
)
def test_mo_texts_go_as_a_handset_sends_them(sim, msg_fmt, body, parts):
    async def receive():
        raw = await Raw.open(sim)
        await raw.login()
        record = sim.mo("8613900139000", "106571234527", body, msg_fmt)
        pdus = [await raw.read() for _ in range(record["parts"])]
        for pdu in pdus:
            raw.send(codec.DeliverResp(sequence_id=pdu.sequence_id, msg_id=pdu.msg_id))
        return record, pdus

    record, pdus = run(receive())
    assert record["parts"] == parts and len(pdus) == parts
    assert [codec.msg_id_str(p.msg_id) for p in pdus] == record["msg_ids"]
    raw_text = b""
    for n, pdu in enumerate(pdus, start=1):
        assert (pdu.registered_delivery, pdu.msg_fmt, pdu.dest_id) == (0, msg_fmt, "106571234527")
        assert pdu.src_terminal_id == "8613900139000" and len(pdu.msg_content) <= 140
        if parts == 1:
            assert not pdu.tp_udhi
            payload = pdu.msg_content
        else:
            concat, payload = content.split_header(pdu.msg_content)
            assert pdu.tp_udhi and (concat.number, concat.total) == (n, parts)
        assert "\ufffd" not in content.decode(payload, msg_fmt)  # no character cut in two
        raw_text += payload
    assert content.decode(raw_text, msg_fmt) == body
    sim.wait_until(lambda: sim.get("/_sim/mo")["mos"][0]["answered"] == parts)


def test_active_tests_are_answered_and_sent_to_an_idle_sp(sim):
    sim.configure(active_test_interval=0.2)

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(codec.ActiveTest(sequence_id=42))
        answer = await raw.read()
        test = await raw.read()
        raw.send(codec.ActiveTestResp(sequence_id=test.sequence_id))
        return answer, test

    answer, test = run(body())
    assert isinstance(answer, codec.ActiveTestResp) and answer.sequence_id == 42
    assert isinstance(test, codec.ActiveTest)
    sim.wait_until(lambda: sim.stats().get("active_test_resps") == 1)


def test_drop_after_n_submits_cuts_the_connection_and_keeps_the_last_one(sim):
    sim.configure(drop_after=3, latency_ms=0)

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        for seq in (1, 2):
            raw.send(raw.submit(seq, dest_terminal_id=(f"1380000000{seq}",)))
            await raw.read()
        raw.send(raw.submit(3, dest_terminal_id=("13800000003",)))
        return await raw.closed()

    assert run(body())
    assert sorted(m["dest"][0] for m in sim.messages()) == ["13800000001", "13800000002", "13800000003"]
    assert sim.stats()["drops"] == 1


# -- the control API -----------------------------------------------------------------------
def test_the_control_api_reports_health_and_takes_settings(sim):
    assert sim.get("/_sim/health")["ok"] is True and sim.get("/_sim/health")["port"] == sim.port
    changed = sim.configure(latency_ms="20-150", rate_cap="5", undelivered_numbers="13800000001")
    assert changed["latency_ms"] == [20.0, 150.0] and changed["rate_cap"] == 5.0
    assert changed["undelivered_numbers"] == {"13800000001": "UNDELIV"}
    for bad in ({"latency": 1}, {"drop_rate": 2}, {"reply_mix": "yes:1"}, {"refused_numbers": {"1": 8}}):
        response = sim.post("/_sim/config", bad)
        assert response.status_code == 400 and response.json()["error"]
    assert sim.post("/_sim/config", ["not", "an", "object"]).status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"from": "13800138000", "dest_id": "1065712345"}, {"from": "1", "dest_id": "2", "text": "中", "msg_fmt": 0},
     {"from": "1", "dest_id": "2", "text": "x", "msg_fmt": 4}],
)
def test_an_mo_the_simulator_cannot_send_is_a_400(sim, body):
    response = sim.post("/_sim/mo", body)
    assert response.status_code == 400 and response.json()["error"]


def test_reset_forgets_texts_and_drop_cuts_every_connection(sim):
    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        raw.send(raw.submit(1))
        await raw.read()
        dropped = sim.post("/_sim/drop").json()["dropped"]
        return dropped, await raw.closed()

    dropped, closed = run(body())
    assert dropped == 1 and closed and len(sim.messages()) == 1
    sim.post("/_sim/reset")
    assert sim.messages() == [] and not sim.stats().get("submits")


# -- as a command --------------------------------------------------------------------------
def test_sigterm_terminates_connected_sps_and_exits_cleanly():
    sim = CmppSim()

    async def body():
        raw = await Raw.open(sim)
        await raw.login()
        sim.proc.send_signal(signal.SIGTERM)
        goodbye = await raw.read()
        raw.send(codec.TerminateResp(sequence_id=goodbye.sequence_id))
        return goodbye, await raw.closed()

    goodbye, closed = run(body())
    assert isinstance(goodbye, codec.Terminate) and closed
    assert sim.stop() == 0


def test_notifier_simulator_cmpp_runs_it():
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTIFIER_ENV": "testing"}
    notifier = os.path.join(os.path.dirname(sys.executable), "notifier")
    proc = subprocess.Popen(
        [notifier, "simulator", "--cmpp", "--port", "0", "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("CMPP simulator (ISMG) on 127.0.0.1:")
        port = int(re.search(r":(\d+) ", line).group(1))

        async def login():
            raw = Raw(*await asyncio.open_connection("127.0.0.1", port))
            return (await raw.login())[1]

        assert run(login()).status == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        proc.stdout.close()

"""An asyncio client session to an ISMG: log in, keep the link alive, submit texts through a
sliding window, answer what the ISMG delivers, and come back after the link drops. No database:
the connector (`notifier cmpp`) claims texts, calls `submit` and records what `on_deliver` hands it.

    session = Session(Settings.from_config(app.config), on_deliver=record)
    await session.start()
    await session.wait_ready(timeout=10)           # ConnectRejected on a wrong secret, ...
    result = await session.submit("+8613800138000", "【县人大常委会】...", extension="27")
    result.outcome, result.msg_ids                 # see the outcomes below
    await session.close()                          # TERMINATE, after in-flight work is answered

Outcomes of `submit` (one text, every part of it):
  accepted      the ISMG took every part; `msg_ids` has one Msg_Id per part, in part order;
  flow_control  the ISMG said slow down (Result 8) before taking any part: send it again later;
  transient     nothing was sent (no link within `submit_wait`, or closing): send it again later;
  permanent     the ISMG refused the first part (Result 1-7, 9+) or the number/text cannot go;
  unknown       a part was in flight when the link dropped, or its answer never came: the ISMG
                may or may not have it (reconcile, do not just send it again);
  partial       some parts were taken (their Msg_Ids are given) and a later one was refused or
                unknown: never send it again whole, the phone would get the first parts twice.
Once the first part is taken, later parts refused with Result 8 are retried here for up to
`part_patience` seconds, so a flow-controlled link does not leave half texts behind.

What the ISMG delivers reaches `on_deliver(event)` as a Report (a status report for a Msg_Id) or
a Reply (a text from a phone; the parts of a long one joined first). The DELIVER_RESP (Result 0)
goes back after on_deliver returns, so a crash before a report or reply is recorded leaves it
unanswered and the ISMG delivers it again: on_deliver must be idempotent (by Msg_Id), and when
it raises the DELIVER is left unanswered for the ISMG to repeat. A coroutine function is awaited;
a plain function runs in a worker thread.
"""
import asyncio
import dataclasses
import inspect
import itertools
import logging
import random
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from . import codec, numbers
from . import text as content
from .events import (  # noqa: F401 (the session's vocabulary, importable from here)
    ACCEPTED,
    FLOW_CONTROL,
    PARTIAL,
    PERMANENT,
    TRANSIENT,
    UNKNOWN,
    PartResult,
    Reply,
    Report,
    SubmitResult,
    reply_from,
    report_from,
)

log = logging.getLogger(__name__)

# Session states, for health checks: a gateway is up only when "ready".
CONNECTING, READY, DOWN, REJECTED, CLOSED = "connecting", "ready", "down", "rejected", "closed"


class ConnectRejected(codec.CmppError):
    """The ISMG answered CMPP_CONNECT with a non-zero Status."""

    def __init__(self, status):
        self.status = status
        reason = codec.CONNECT_STATUS.get(status, "unknown status")
        super().__init__(f"the ISMG refused the login: status {status}, {reason}")


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str
    sp_id: str  # Source_Addr and Msg_src: the 6-digit enterprise code
    shared_secret: str
    src_id: str  # the SP access number (e.g. 1065xxxx); an extension may follow it per text
    port: int = 7890
    service_id: str = ""
    window: int = 16  # unanswered SUBMITs in flight on the link
    registered_delivery: int = 1  # ask for status reports
    # Fee fields of a notification the SP pays for; follow the operator's notes if they differ.
    fee_usertype: int = 2
    feetype: str = "01"
    feecode: str = "000000"
    timezone: str = "Asia/Shanghai"  # the clock of the CONNECT timestamp
    connect_timeout: float = 10.0
    response_timeout: float = 60.0  # a SUBMIT unanswered this long is unknown
    idle_interval: float = 60.0  # send ACTIVE_TEST after this long without hearing the ISMG
    active_test_timeout: float = 10.0
    active_test_misses: int = 3  # unanswered ACTIVE_TESTs in a row: the peer is dead
    reconnect_min: float = 1.0  # backoff between attempts, doubled up to reconnect_max
    reconnect_max: float = 60.0
    submit_wait: float = 5.0  # how long submit waits for a link before answering transient
    part_patience: float = 30.0
    reassembly_timeout: float = 60.0  # a long reply's missing parts are waited for this long
    close_timeout: float = 5.0
    deliver_concurrency: int = 32  # on_deliver calls at once; past that the link waits

    @classmethod
    def from_config(cls, config, **overrides):
        """From the CMPP_* settings (a Flask config or os.environ)."""
        values = {
            "host": config["CMPP_HOST"],
            "port": int(config.get("CMPP_PORT") or 7890),
            "sp_id": config["CMPP_SP_ID"],
            "shared_secret": config["CMPP_SHARED_SECRET"],
            "service_id": config.get("CMPP_SERVICE_ID") or "",
            "src_id": config["CMPP_SRC_ID"],
            "window": int(config.get("CMPP_WINDOW") or 16),
            "reconnect_max": float(config.get("CMPP_RECONNECT_MAX_SECONDS") or 60),
        }
        return cls(**{**values, **overrides})


class _NotSent(Exception):
    """The link went before the request was written: nothing reached the ISMG."""


class _LinkLost(Exception):
    """The link went while a request waited for its answer."""


class _Link:
    """One TCP connection, logged in. Requests wait for the answer with their Sequence_Id."""

    def __init__(self, reader, writer, window):
        self.reader, self.writer = reader, writer
        self.slots = asyncio.Semaphore(window)
        self.pending = {}  # Sequence_Id -> Future of the response PDU
        self._out = []
        self.heard = time.monotonic()
        self.lost = False

    def send(self, pdu):
        """Queue a PDU; everything queued in one turn of the loop leaves in one write (one
        system call for a burst of submits and answers, rather than one each)."""
        if self.lost or self.writer.is_closing():
            raise _NotSent()
        self._out.append(pdu.pack())
        if len(self._out) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self):
        if self._out and not self.writer.is_closing():
            self.writer.write(b"".join(self._out))
        self._out.clear()

    async def request(self, pdu, timeout):
        future = asyncio.get_running_loop().create_future()
        self.pending[pdu.sequence_id] = future
        try:
            self.send(pdu)
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(pdu.sequence_id, None)

    def answer(self, pdu):
        future = self.pending.get(pdu.sequence_id)
        if future is None or future.done():
            log.warning("cmpp: %s for no request in flight (seq %s)", pdu.name, pdu.sequence_id)
        else:
            future.set_result(pdu)

    def drop(self):
        self.lost = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(_LinkLost())
        self.writer.close()


class Session:
    def __init__(self, settings, on_deliver=None, *, rng=None):
        self.settings = settings
        self.on_deliver = on_deliver
        self.state, self.last_error = CONNECTING, None
        self.stats = dict.fromkeys(
            ("connects", "links_lost", "parts_sent", "accepted", "flow_control", "refused",
             "unknown", "reports", "replies", "delivers", "active_tests_sent",
             "active_tests_answered", "handler_errors", "terminated_by_ismg"),
            0,
        )
        self._rng = rng or random.Random()
        self._seq = itertools.count(1)
        self._ref = itertools.count(self._rng.randrange(256))
        self._link = None
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()  # set on every state change, for wait_ready
        self._closing = False
        self._runner = None
        self._handlers = asyncio.Semaphore(settings.deliver_concurrency)
        self._handler_tasks = set()
        self._parts = content.Reassembler(timeout=settings.reassembly_timeout)

    # -- life cycle ------------------------------------------------------------------------
    async def start(self):
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="cmpp-session")
        return self

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    async def wait_ready(self, timeout):
        """Until the session is logged in. ConnectRejected at once when the ISMG refuses the
        login; TimeoutError (from the last error) when it cannot be reached in time."""
        deadline = time.monotonic() + timeout
        while self.state != READY:
            if isinstance(self.last_error, ConnectRejected):
                raise self.last_error
            left = deadline - time.monotonic()
            if left <= 0 or self.state == CLOSED:
                raise TimeoutError(f"no CMPP link to {self._where}: {self.last_error}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    async def close(self):
        """Let in-flight submits and deliveries be answered, TERMINATE, and stop reconnecting."""
        self._closing = True
        link, timeout = self._link, self.settings.close_timeout
        if link is not None:
            await _until(lambda: not link.pending and not self._handler_tasks, timeout)
            try:
                await link.request(codec.Terminate(sequence_id=self._next_seq()), timeout)
            except (TimeoutError, _NotSent, _LinkLost):
                pass
            link.drop()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        self._set_state(CLOSED)

    @property
    def _where(self):
        return f"{self.settings.host}:{self.settings.port}"

    def _set_state(self, state, error=None):
        self.state, self.last_error = state, error
        if state == READY:
            self._ready.set()
        else:
            self._ready.clear()
        self._changed.set()

    def _next_seq(self):
        return next(self._seq) % 0x7FFFFFFF + 1

    async def _run(self):
        attempt = 0
        while not self._closing:
            try:
                link = await self._connect()
            except ConnectRejected as exc:
                log.error("cmpp: %s (%s)", exc, self._where)
                self._set_state(REJECTED, exc)
                delay = self.settings.reconnect_max  # a wrong secret will not mend itself soon
            except (OSError, TimeoutError, EOFError, codec.CmppError) as exc:
                log.warning("cmpp: cannot log in to %s: %r", self._where, exc)
                self._set_state(DOWN, exc)
                delay = self._backoff(attempt)
            else:
                attempt = 0
                self.stats["connects"] += 1
                self._link = link
                self._set_state(READY)
                log.info("cmpp: logged in to %s as %s", self._where, self.settings.sp_id)
                await self._serve(link)
                self._link = None
                if self._closing:
                    break
                self.stats["links_lost"] += 1
                self._set_state(DOWN, self.last_error)
                delay = self._backoff(0)
            attempt += 1
            await asyncio.sleep(delay)

    def _backoff(self, attempt):
        """Exponential with equal jitter, so many connectors do not knock at the same moment."""
        ceiling = min(self.settings.reconnect_max, self.settings.reconnect_min * 2**attempt)
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _connect(self):
        s = self.settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), s.connect_timeout
        )
        try:
            moment = datetime.now(ZoneInfo(s.timezone))
            login = codec.connect_pdu(s.sp_id, s.shared_secret, moment, self._next_seq())
            writer.write(login.pack())
            answer = await asyncio.wait_for(codec.read_pdu(reader), s.connect_timeout)
            if not isinstance(answer, codec.ConnectResp) or answer.sequence_id != login.sequence_id:
                raise codec.CmppError(f"expected CONNECT_RESP, got {answer.name}")
            if answer.status != 0:
                raise ConnectRejected(answer.status)
            expected = codec.authenticator_ismg(0, login.authenticator_source, s.shared_secret)
            if answer.authenticator_ismg != expected:
                # Some ISMGs fill it their own way; the login stands, but say so once per link.
                log.warning("cmpp: the ISMG's AuthenticatorISMG does not match (%s)", self._where)
        except BaseException:
            writer.close()
            raise
        return _Link(reader, writer, s.window)

    async def _serve(self, link):
        """Read until the link ends (EOF, TERMINATE, a dead peer, a stream out of step)."""
        keeper = asyncio.create_task(self._keep_alive(link))
        try:
            while True:
                try:
                    pdu = await codec.read_pdu(link.reader)
                except codec.DecodeError as exc:
                    self._undecodable(link, exc)
                    continue
                link.heard = time.monotonic()
                if isinstance(pdu, codec.Terminate):
                    link.send(codec.TerminateResp(sequence_id=pdu.sequence_id))
                    self.stats["terminated_by_ismg"] += 1
                    self.last_error = "the ISMG ended the session (TERMINATE)"
                    return
                if isinstance(pdu, codec.Deliver):
                    self.stats["delivers"] += 1
                    await self._handlers.acquire()  # slow handlers slow the reading down
                    self._spawn(self._deliver(link, pdu))
                else:
                    self._dispatch(link, pdu)
        except (OSError, EOFError, codec.FramingError, _NotSent) as exc:
            if not self._closing:
                log.warning("cmpp: link to %s lost: %r", self._where, exc)
                self.last_error = exc
        except asyncio.CancelledError:
            raise
        finally:
            keeper.cancel()
            link.drop()

    def _dispatch(self, link, pdu):
        if isinstance(pdu, codec.SubmitResp | codec.TerminateResp | codec.ActiveTestResp):
            link.answer(pdu)
        elif isinstance(pdu, codec.ActiveTest):
            self.stats["active_tests_answered"] += 1
            link.send(codec.ActiveTestResp(sequence_id=pdu.sequence_id))
        else:
            log.warning("cmpp: unexpected %s from the ISMG, ignored", pdu.name)

    def _undecodable(self, link, exc):
        log.error("cmpp: undecodable PDU from %s: %s", self._where, exc)
        if exc.command_id == codec.DELIVER and len(exc.body) >= 8:
            # Answered "bad structure": resending it would not make it readable.
            msg_id = int.from_bytes(exc.body[:8], "big")
            link.send(codec.DeliverResp(sequence_id=exc.sequence_id, msg_id=msg_id, result=1))

    async def _keep_alive(self, link):
        """ACTIVE_TEST when the ISMG has been quiet; too many unanswered ones: the peer is dead.
        Also hands on long replies whose missing parts stopped coming."""
        s, misses = self.settings, 0
        tick = min(s.idle_interval, s.active_test_timeout, 1.0)
        while True:
            await asyncio.sleep(max(0.0, min(tick, link.heard + s.idle_interval - time.monotonic())))
            for late in self._parts.expired():
                self._spawn(self._hand_on_reply(late))
            if time.monotonic() - link.heard < s.idle_interval:
                continue
            self.stats["active_tests_sent"] += 1
            try:
                await link.request(codec.ActiveTest(sequence_id=self._next_seq()), s.active_test_timeout)
                misses = 0
            except TimeoutError:
                misses += 1
                if misses >= s.active_test_misses:
                    self.last_error = f"no answer to {misses} ACTIVE_TESTs: the peer is dead"
                    log.warning("cmpp: %s (%s)", self.last_error, self._where)
                    link.writer.close()  # ends _serve's read
                    return
            except (_NotSent, _LinkLost):
                return

    def _spawn(self, coro):
        task = asyncio.create_task(coro)
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_tasks.discard)

    # -- submitting ------------------------------------------------------------------------
    async def submit(self, to, text, extension=""):
        """Send one text (all its parts) to one mainland mobile number; see the outcomes above.
        ValueError when the extension cannot go in a Src_Id (the caller's setting is wrong)."""
        src = numbers.src_id(self.settings.src_id, extension)
        try:
            dest = numbers.terminal_id(to)
            parts = content.encode(text, next(self._ref) % 256)
        except ValueError as exc:
            return SubmitResult(PERMANENT, [], error=str(exc))
        first = await self._send_part(dest, src, parts[0], patience=0)
        if first.outcome != ACCEPTED or len(parts) == 1:
            return SubmitResult(first.outcome, [first], error=first.error)
        rest = await asyncio.gather(
            *(self._send_part(dest, src, p, patience=self.settings.part_patience) for p in parts[1:])
        )
        results = [first, *rest]
        failed = next((r for r in results if r.outcome != ACCEPTED), None)
        if failed is None:
            return SubmitResult(ACCEPTED, results)
        error = f"part {failed.number} of {len(parts)}: {failed.error}"
        return SubmitResult(PARTIAL, results, error=error)

    async def _send_part(self, dest, src, part, patience):
        """One part through the window. Nothing sent yet (no link): wait for one. Result 8 within
        `patience` seconds: again after a pause (the ISMG has the text's first part). A later
        part whose link dropped with it in flight goes again on the next link too: the phone joins
        parts by reference and number, so a part it gets twice is one part, while a part it never
        gets leaves the whole text unreadable."""
        deadline = time.monotonic() + patience
        pause = 0.05
        again = (FLOW_CONTROL, TRANSIENT, UNKNOWN) if patience else (FLOW_CONTROL, TRANSIENT)
        while True:
            result = await self._send_part_once(dest, src, part)
            if result.outcome not in again or self._closing:
                return result
            if time.monotonic() >= deadline:
                return result
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 2.0)

    async def _send_part_once(self, dest, src, part):
        s = self.settings
        deadline = time.monotonic() + s.submit_wait
        while True:
            link = await self._usable_link(deadline)
            if link is None:
                why = "closing" if self._closing else f"no link to the ISMG: {self.last_error}"
                return PartResult(part.number, TRANSIENT, error=why)
            pdu = codec.Submit(
                sequence_id=self._next_seq(), pk_total=part.total, pk_number=part.number,
                registered_delivery=s.registered_delivery, msg_level=0, service_id=s.service_id,
                fee_usertype=s.fee_usertype, tp_udhi=part.udhi, msg_fmt=part.msg_fmt,
                msg_src=s.sp_id, feetype=s.feetype, feecode=s.feecode, src_id=src,
                dest_terminal_id=(dest,), msg_content=part.content,
            )
            async with link.slots:
                if self._closing:  # close() is waiting for the window to empty: send no more
                    return PartResult(part.number, TRANSIENT, error="closing")
                try:
                    answer = await link.request(pdu, s.response_timeout)
                except _NotSent:
                    continue  # the link went while we waited for a slot: try the next one
                except _LinkLost:
                    error = "the link dropped with it in flight"
                except TimeoutError:
                    error = f"no SUBMIT_RESP in {s.response_timeout:g} s"
                else:
                    return self._part_result(part.number, answer)
            self.stats["unknown"] += 1
            return PartResult(part.number, UNKNOWN, error=error)

    def _part_result(self, number, answer):
        self.stats["parts_sent"] += 1
        if answer.result == 0:
            self.stats["accepted"] += 1
            return PartResult(number, ACCEPTED, codec.msg_id_str(answer.msg_id), result=0)
        reason = codec.SUBMIT_RESULT.get(answer.result, "refused by the ISMG")
        if answer.result == codec.FLOW_CONTROL:
            self.stats["flow_control"] += 1
            return PartResult(number, FLOW_CONTROL, result=8, error=reason)
        self.stats["refused"] += 1
        return PartResult(number, PERMANENT, result=answer.result, error=reason)

    async def _usable_link(self, deadline):
        """The live link, waiting for one until `deadline`; None when there is none by then."""
        while not self._closing:
            link = self._link
            if link is not None and not link.lost:
                return link
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self._ready.wait(), left)
            except TimeoutError:
                return None
            await asyncio.sleep(0)  # let a link that has just gone be cleared away
        return None

    # -- what the ISMG delivers ------------------------------------------------------------
    async def _deliver(self, link, pdu):
        try:
            await self._deliver_one(link, pdu)
        finally:
            self._handlers.release()

    async def _deliver_one(self, link, pdu):
        token = (link, pdu.sequence_id, pdu.msg_id)
        try:
            report = pdu.report
        except codec.DecodeError as exc:
            log.error("cmpp: status report not readable, answered and dropped: %s", exc)
            return self._answer([token])
        if report is not None:
            self.stats["reports"] += 1
            if await self._handle(report_from(pdu, report)):
                self._answer([token])
            return
        concat, payload = (
            content.split_header(pdu.msg_content) if pdu.tp_udhi else (None, pdu.msg_content)
        )
        if concat is None:
            text = content.decode(payload, pdu.msg_fmt)
            joined = content.Reassembled(text, [token], complete=True, firsts=[token])
            return await self._hand_on_reply(joined, pdu)
        key = (pdu.src_terminal_id, pdu.dest_id, pdu.service_id)
        joined = self._parts.add(key, concat, payload, pdu.msg_fmt, token, meta=pdu)
        if joined is not None:
            await self._hand_on_reply(joined)

    async def _hand_on_reply(self, joined, pdu=None):
        if joined.duplicate:
            return self._answer(joined.tokens)
        event = reply_from(pdu or joined.meta, joined, self.settings.src_id)
        self.stats["replies"] += 1
        if await self._handle(event):
            self._answer(joined.tokens)
        else:
            self._parts.forget(joined)  # its parts, delivered again, make it again

    async def _handle(self, event):
        """Hand an event on; False when the handler failed (the DELIVER stays unanswered)."""
        if self.on_deliver is None:
            return True
        try:
            if _is_async(self.on_deliver):
                await self.on_deliver(event)
            else:
                await asyncio.to_thread(self.on_deliver, event)
            return True
        except Exception:
            self.stats["handler_errors"] += 1
            log.exception("cmpp: on_deliver failed; the ISMG will deliver it again")
            return False

    def _answer(self, tokens):
        for link, sequence_id, msg_id in tokens:
            try:
                link.send(codec.DeliverResp(sequence_id=sequence_id, msg_id=msg_id, result=0))
            except _NotSent:
                pass  # its link is gone: the ISMG delivers it again on the next one


def _is_async(fn):
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(fn.__call__)


async def _until(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)

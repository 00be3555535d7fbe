"""The simulated ISMG: the gateway side of CMPP 2.0 over TCP, holding an SP to what a real ISMG
checks, with fault injection and simulated deputies replying.

Everything here runs on one event loop; the control API (control.py) calls in through
`Ismg.call`. Results 9 and up are "other errors" in CMPP 2.0; the simulator uses CMPP 3.0's
numbering for them (10 Src_Id, 11 Msg_src, 13 Dest_terminal_Id), as many ISMGs do.
"""
import asyncio
import collections
import dataclasses
import itertools
import logging
import random
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from notifier.gateways.cmpp import codec
from notifier.gateways.cmpp import text as content

from .config import REPLY_BODIES, IsmgConfig

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
MOBILE = re.compile(r"1\d{10}")
EXTENSION = re.compile(r"\d{0,6}")
MAX_CONTENT = 140


@dataclasses.dataclass
class Outgoing:
    """A DELIVER on its way to the SP, until it is answered."""

    pdu: codec.Deliver
    on_answer: object = None  # called with no arguments when a DELIVER_RESP comes
    attempts: int = 0
    generation: int = 0  # the reset it belongs to: one from before a reset is forgotten


class Connection:
    def __init__(self, number, reader, writer):
        self.number, self.reader, self.writer = number, reader, writer
        self.submits = 0
        self.in_flight = set()  # Sequence_Ids of SUBMITs not answered yet
        self.awaiting = {}  # Sequence_Id -> Outgoing: DELIVERs not answered yet
        self.room = asyncio.Event()  # set when an answer frees room in the DELIVER window
        self.heard = time.monotonic()
        self.terminated = asyncio.Event()
        self.closed = False

    def send(self, pdu):
        if not self.closed and not self.writer.is_closing():
            self.writer.write(pdu.pack())


class Ismg:
    def __init__(self, **options):
        self.config = IsmgConfig(**IsmgConfig.parse(options))
        self.rng = random.Random(self.config.seed)
        self.stats = collections.Counter()
        self.connections = {}
        self.outbox = asyncio.Queue()
        self.texts = []  # every text SUBMITted and taken, as groups of parts
        self.mos = []  # every text delivered from a phone
        self._open_texts = {}  # (src_id, dests, ref, total) -> its group while parts are missing
        self._numbers = itertools.count(1)
        self._msg_seq = itertools.count(self.rng.randrange(1 << 16))
        self._seq = itertools.count(self.rng.randrange(1 << 20))
        self._bucket = [float("inf"), time.monotonic()]  # a full one-second bucket to start
        self._tasks = set()
        self.generation = 0
        self.loop = None

    # -- control (called on the loop) ------------------------------------------------------
    def configure(self, **options):
        self.config = self.config.replace(**options)
        if "rate_cap" in options:
            self._bucket = [float("inf"), time.monotonic()]
        if "seed" in options:
            self.rng.seed(self.config.seed)
        return self.config

    def reset(self):
        """Forget texts, replies and counters (and undelivered DELIVERs); settings stay."""
        self.generation += 1
        for conn in self.connections.values():
            conn.awaiting.clear()
            conn.room.set()
        self.texts.clear()
        self.mos.clear()
        self._open_texts.clear()
        self.stats.clear()
        while not self.outbox.empty():
            self.outbox.get_nowait()

    def drop_connections(self):
        for conn in list(self.connections.values()):
            conn.writer.transport.abort()
        return len(self.connections)

    def call(self, fn, *args, **kwargs):
        """Run fn on the loop from another thread (the control API) and return its result."""

        async def run():
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def snapshot_stats(self):
        return {
            **self.stats,
            "live_connections": len(self.connections),
            "in_flight": sum(len(c.in_flight) for c in self.connections.values()),
            "pending_delivers": self.outbox.qsize()
            + sum(len(c.awaiting) for c in self.connections.values()),
            "texts": len(self.texts),
        }

    # -- connections -----------------------------------------------------------------------
    async def serve_client(self, reader, writer):
        conn = Connection(next(self._numbers), reader, writer)
        self.stats["connections"] += 1
        helpers = []
        try:
            if not await self._login(conn):
                return
            self.connections[conn.number] = conn
            helpers = [self._spawn(self._pump(conn)), self._spawn(self._keep_alive(conn))]
            while True:
                try:
                    pdu = await codec.read_pdu(reader)
                except codec.DecodeError as exc:
                    self.stats["undecodable"] += 1
                    if exc.command_id == codec.SUBMIT and not self.config.mute:
                        conn.send(codec.SubmitResp(sequence_id=exc.sequence_id, result=1))
                    continue
                conn.heard = time.monotonic()
                if self.config.mute:
                    self.stats["ignored_while_mute"] += 1
                    continue
                if not self._dispatch(conn, pdu):
                    return
        except (EOFError, OSError, TimeoutError, codec.FramingError) as exc:
            log.debug("connection %s ends: %r", conn.number, exc)
        finally:
            self._closed(conn, helpers)

    async def _login(self, conn):
        try:
            pdu = await asyncio.wait_for(codec.read_pdu(conn.reader), 30)
        except codec.DecodeError:
            pdu = None
        if not isinstance(pdu, codec.Connect):
            self.stats["not_a_login"] += 1
            return False
        status = self._login_status(pdu)
        secret = self.config.shared_secret
        conn.send(
            codec.ConnectResp(
                sequence_id=pdu.sequence_id,
                status=status,
                authenticator_ismg=codec.authenticator_ismg(status, pdu.authenticator_source, secret),
                version=codec.VERSION,
            )
        )
        await conn.writer.drain()
        self.stats["logins" if status == 0 else "login_failures"] += 1
        return status == 0

    def _login_status(self, pdu):
        config = self.config
        if pdu.source_addr != config.sp_id:
            return 2
        stamp = f"{pdu.timestamp:010d}"
        expected = codec.authenticator_source(config.sp_id, config.shared_secret, stamp)
        if pdu.authenticator_source != expected:
            return 3
        if pdu.version > codec.VERSION:
            return 4
        return 0

    def _dispatch(self, conn, pdu):
        """Act on one PDU; False when the connection is to end."""
        if isinstance(pdu, codec.Submit):
            self._on_submit(conn, pdu)
        elif isinstance(pdu, codec.DeliverResp):
            outgoing = conn.awaiting.pop(pdu.sequence_id, None)
            self.stats["deliver_resps"] += 1
            if outgoing is not None and outgoing.on_answer is not None:
                outgoing.on_answer()
            conn.room.set()
        elif isinstance(pdu, codec.ActiveTest):
            self.stats["active_tests_received"] += 1
            conn.send(codec.ActiveTestResp(sequence_id=pdu.sequence_id))
        elif isinstance(pdu, codec.ActiveTestResp):
            self.stats["active_test_resps"] += 1
        elif isinstance(pdu, codec.Terminate):
            self.stats["terminates_received"] += 1
            conn.send(codec.TerminateResp(sequence_id=pdu.sequence_id))
            return False
        elif isinstance(pdu, codec.TerminateResp):
            conn.terminated.set()
            return False
        else:
            self.stats["unexpected"] += 1
        return True

    def _closed(self, conn, helpers):
        conn.closed = True
        self.connections.pop(conn.number, None)
        for task in helpers:
            task.cancel()
        # What it never answered goes out again on the next connection, as a real ISMG does.
        for outgoing in conn.awaiting.values():
            self._queue(outgoing)
        conn.awaiting.clear()
        conn.writer.close()

    async def terminate_all(self, timeout=2.0):
        """Shutting down: TERMINATE every SP and give them a moment to answer."""
        conns = list(self.connections.values())
        for conn in conns:
            conn.send(codec.Terminate(sequence_id=self._next_seq()))
        if conns:
            waits = [asyncio.wait_for(c.terminated.wait(), timeout) for c in conns]
            await asyncio.gather(*waits, return_exceptions=True)
        for conn in conns:
            conn.writer.transport.abort()

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _next_seq(self):
        return next(self._seq) % 0x7FFFFFFF + 1

    def _new_msg_id(self):
        now = datetime.now(CHINA)
        return codec.MsgId(
            now.month, now.day, now.hour, now.minute, now.second,
            self.config.gateway_code, next(self._msg_seq) & 0xFFFF,
        ).to_int()

    def _delay(self, ms_range):
        low, high = ms_range
        return (low if low == high else self.rng.uniform(low, high)) / 1000.0

    # -- SUBMIT ----------------------------------------------------------------------------
    def _on_submit(self, conn, pdu):
        config = self.config
        self.stats["submits"] += 1
        conn.submits += 1
        if (config.drop_after and conn.submits >= config.drop_after) or (
            config.drop_rate and self.rng.random() < config.drop_rate
        ):
            if config.drop_accepts and self._check(pdu) == 0:
                self._take(pdu)
            self.stats["drops"] += 1
            conn.writer.transport.abort()
            return
        if pdu.sequence_id in conn.in_flight:
            return self._answer_now(conn, pdu, 0, 3)
        if len(conn.in_flight) >= config.window:
            self.stats["flow_control_window"] += 1
            return self._answer_now(conn, pdu, 0, codec.FLOW_CONTROL)
        if not self._within_rate():
            self.stats["flow_control_rate"] += 1
            return self._answer_now(conn, pdu, 0, codec.FLOW_CONTROL)
        result = self._check(pdu)
        msg_id = self._take(pdu) if result == 0 else 0
        self.stats["accepted" if result == 0 else "refused"] += 1
        conn.in_flight.add(pdu.sequence_id)
        self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], len(conn.in_flight))
        self._spawn(self._answer_later(conn, pdu, msg_id, result))

    def _answer_now(self, conn, pdu, msg_id, result):
        conn.send(codec.SubmitResp(sequence_id=pdu.sequence_id, msg_id=msg_id, result=result))

    async def _answer_later(self, conn, pdu, msg_id, result):
        delay = self._delay(self.config.latency_ms)
        if delay:
            await asyncio.sleep(delay)
        conn.in_flight.discard(pdu.sequence_id)
        self._answer_now(conn, pdu, msg_id, result)

    def _within_rate(self):
        cap = self.config.rate_cap
        if not cap:
            return True
        tokens, last = self._bucket
        now = time.monotonic()
        tokens = min(cap, tokens + (now - last) * cap)
        if tokens < 1:
            self._bucket = [tokens, now]
            return False
        self._bucket = [tokens - 1, now]
        return True

    def _check(self, pdu):
        """The Result a real ISMG would give this SUBMIT's fields (0: fine)."""
        config = self.config
        if pdu.msg_src != config.sp_id:
            return 11
        if config.service_id and pdu.service_id != config.service_id:
            return 7
        if not pdu.src_id.startswith(config.src_id) or not EXTENSION.fullmatch(
            pdu.src_id[len(config.src_id) :]
        ):
            return 10
        for dest in pdu.dest_terminal_id:
            if not MOBILE.fullmatch(dest):
                return 13
            if dest in config.refused_numbers:
                return config.refused_numbers[dest]
        if len(pdu.msg_content) > MAX_CONTENT:
            return 6
        if not 1 <= pdu.pk_number <= pdu.pk_total:
            return 1
        if pdu.tp_udhi and content.split_header(pdu.msg_content)[0] is None:
            return 1
        return 0

    def _take(self, pdu):
        """Record an accepted part in its text, and schedule its reports. Returns its Msg_Id."""
        msg_id = self._new_msg_id()
        concat, payload = (
            content.split_header(pdu.msg_content) if pdu.tp_udhi else (None, pdu.msg_content)
        )
        dests = tuple(pdu.dest_terminal_id)
        part = {
            "msg_id": codec.msg_id_str(msg_id),
            "number": concat.number if concat else 1,
            "text": content.decode(payload, pdu.msg_fmt),
            "payload": payload,
            "reports": {},
        }
        text = self._text_for(pdu, dests, concat)
        if part["number"] in text["parts"]:
            text["duplicate_parts"] += 1
        text["parts"].setdefault(part["number"], part)
        text["all_msg_ids"].append(part["msg_id"])
        if pdu.registered_delivery:
            for dest in dests:
                self._schedule_report(pdu, msg_id, dest, part)
        if len(text["parts"]) == text["total"]:
            self._open_texts.pop(text["key"], None)
            if not text["complete"]:
                text["complete"] = True
                self._maybe_reply(text)
        return msg_id

    def _text_for(self, pdu, dests, concat):
        key = (pdu.src_id, dests, concat.ref, concat.total) if concat else None
        text = self._open_texts.get(key) if key else None
        if text is None:
            text = {
                "key": key, "src_id": pdu.src_id, "dest": list(dests), "total": concat.total if concat else 1,
                "ref": concat.ref if concat else None, "msg_fmt": pdu.msg_fmt, "service_id": pdu.service_id,
                "msg_src": pdu.msg_src, "registered_delivery": pdu.registered_delivery,
                "submitted_at": datetime.now(CHINA).isoformat(timespec="milliseconds"),
                "parts": {}, "all_msg_ids": [], "complete": False, "duplicate_parts": 0,
            }
            self.texts.append(text)
            if key:
                self._open_texts[key] = text
        return text

    # -- status reports --------------------------------------------------------------------
    def _schedule_report(self, pdu, msg_id, dest, part):
        config = self.config
        if dest in config.lost_report_numbers or (
            config.lost_report_rate and self.rng.random() < config.lost_report_rate
        ):
            part["reports"][dest] = {"stat": None, "lost": True, "answered": 0}
            self.stats["reports_lost"] += 1
            return
        stat = config.undelivered_numbers.get(dest)
        if stat is None:
            undelivered = config.undelivered_rate and self.rng.random() < config.undelivered_rate
            stat = "UNDELIV" if undelivered else "DELIVRD"
        entry = part["reports"][dest] = {"stat": stat, "lost": False, "answered": 0}
        submitted = datetime.now(CHINA).strftime("%y%m%d%H%M")
        report = codec.StatusReport(
            msg_id=msg_id, stat=stat, submit_time=submitted, done_time=submitted,
            dest_terminal_id=dest, smsc_sequence=next(self._numbers) & 0xFFFFFFFF,
        )
        deliver = codec.Deliver(
            msg_id=self._new_msg_id(), dest_id=pdu.src_id, service_id=pdu.service_id,
            src_terminal_id=dest, registered_delivery=1, msg_content=report.pack(),
        )

        def answered():
            entry["answered"] += 1

        copies = 2 if self.rng.random() < config.duplicate_report_rate else 1
        delay = self._delay(config.report_after_ms)
        for copy in range(copies):
            outgoing = Outgoing(deliver, answered, generation=self.generation)
            self.loop.call_later(delay + copy * 0.05, self._queue, outgoing, "reports")

    def _queue(self, outgoing, kind=None):
        if outgoing.generation != self.generation:
            return  # from before a reset
        if kind:
            self.stats[f"{kind}_queued"] += 1
        self.outbox.put_nowait(outgoing)

    async def _pump(self, conn):
        """Send queued DELIVERs on this connection, at most `window` unanswered."""
        while True:
            outgoing = await self.outbox.get()
            try:
                while len(conn.awaiting) >= max(self.config.window, 1) or self.config.mute:
                    conn.room.clear()
                    try:
                        await asyncio.wait_for(conn.room.wait(), 0.5)
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                self.outbox.put_nowait(outgoing)  # the connection went: the next one takes it
                raise
            if conn.closed:
                self.outbox.put_nowait(outgoing)
                return
            if outgoing.generation != self.generation:
                continue
            sequence_id = self._next_seq()
            pdu = dataclasses.replace(outgoing.pdu, sequence_id=sequence_id)
            outgoing.attempts += 1
            conn.awaiting[sequence_id] = outgoing
            conn.send(pdu)
            self.stats["delivers_sent"] += 1
            self.loop.call_later(
                self.config.deliver_resend_ms / 1000.0, self._unanswered, conn, sequence_id
            )

    def _unanswered(self, conn, sequence_id):
        outgoing = conn.awaiting.pop(sequence_id, None)
        if outgoing is None:
            return
        conn.room.set()
        if outgoing.attempts > self.config.deliver_retries:
            self.stats["delivers_given_up"] += 1
            return
        self.stats["delivers_resent"] += 1
        self._queue(outgoing)

    async def _keep_alive(self, conn):
        while True:
            interval = self.config.active_test_interval
            await asyncio.sleep(min(interval, 1.0) if interval else 1.0)
            if not interval or self.config.mute:
                continue
            if time.monotonic() - conn.heard >= interval:
                conn.heard = time.monotonic()  # one test per quiet interval
                conn.send(codec.ActiveTest(sequence_id=self._next_seq()))
                self.stats["active_tests_sent"] += 1

    # -- deputies writing back -------------------------------------------------------------
    def deliver_mo(self, sender, dest_id, text, msg_fmt=content.UCS2, service_id="", kind="control"):
        """A text from phone `sender` to `dest_id`, in Msg_Fmt 8, 0 or 15, split when long."""
        if not text:
            raise ValueError("an MO text must not be empty")
        parts = _mo_parts(text, int(msg_fmt), self.rng.randrange(256))
        record = {
            "from": sender, "dest_id": dest_id, "text": text, "msg_fmt": int(msg_fmt), "kind": kind,
            "msg_ids": [], "parts": len(parts), "answered": 0,
            "at": datetime.now(CHINA).isoformat(timespec="milliseconds"),
        }

        def answered():
            record["answered"] += 1

        duplicate = self.rng.random() < self.config.duplicate_mo_rate
        for part in parts:
            msg_id = self._new_msg_id()
            record["msg_ids"].append(codec.msg_id_str(msg_id))
            deliver = codec.Deliver(
                msg_id=msg_id, dest_id=dest_id, service_id=service_id, tp_udhi=part.udhi,
                msg_fmt=part.msg_fmt, src_terminal_id=sender, registered_delivery=0,
                msg_content=part.content,
            )
            for _ in range(2 if duplicate else 1):
                self._queue(Outgoing(deliver, answered, generation=self.generation), "mos")
        self.mos.append(record)
        return record

    def _maybe_reply(self, text):
        config = self.config
        if not config.reply_rate:
            return
        for dest in text["dest"]:
            stats = [p["reports"].get(dest, {}).get("stat") for p in text["parts"].values()]
            if any(stat not in ("DELIVRD", None) for stat in stats):
                continue  # undelivered: nobody read it
            if self.rng.random() >= config.reply_rate:
                continue
            kind = self.rng.choices(list(config.reply_mix), weights=list(config.reply_mix.values()))[0]
            body = self.rng.choice(REPLY_BODIES[kind])
            fmts = config.reply_formats
            msg_fmt = int(self.rng.choices(list(fmts), weights=list(fmts.values()))[0])
            if msg_fmt == content.ASCII and not body.isascii():
                msg_fmt = content.UCS2
            sender = dest if self.rng.random() < 0.7 else "86" + dest  # ISMGs write both
            delay = self._delay(config.report_after_ms) + self._delay(config.reply_after_ms)
            self.loop.call_later(
                delay, self._auto_reply, sender, text["src_id"], body, msg_fmt, text["service_id"], kind
            )

    def _auto_reply(self, sender, dest_id, body, msg_fmt, service_id, kind):
        self.stats["auto_replies"] += 1
        self.deliver_mo(sender, dest_id, body, msg_fmt, service_id, kind=f"auto:{kind}")

    # -- inspection ------------------------------------------------------------------------
    def submitted(self, dest=None, src_id=None):
        """The texts taken, oldest first, parts joined, with their Msg_Ids and reports."""
        out = []
        for text in self.texts:
            if dest is not None and dest.removeprefix("+86") not in text["dest"]:
                continue
            if src_id is not None and text["src_id"] != src_id:
                continue
            parts = [text["parts"][n] for n in sorted(text["parts"])]
            raw = b"".join(p["payload"] for p in parts)
            out.append({
                "src_id": text["src_id"], "dest": text["dest"], "text": content.decode(raw, text["msg_fmt"]),
                "msg_ids": [p["msg_id"] for p in parts], "parts": len(parts), "total": text["total"],
                "complete": text["complete"], "duplicate_parts": text["duplicate_parts"],
                "msg_fmt": text["msg_fmt"], "service_id": text["service_id"], "msg_src": text["msg_src"],
                "submitted_at": text["submitted_at"],
                "reports": [{"msg_id": p["msg_id"], "dest": d, **r} for p in parts for d, r in p["reports"].items()],
            })
        return out


def _mo_parts(text, msg_fmt, ref):
    """An MO text as a handset sends it: UCS-2 in 70/67 units, ASCII or GBK in 140/134 bytes."""
    if msg_fmt == content.UCS2:
        return content.encode(text, ref)
    if msg_fmt not in (content.ASCII, content.GBK):
        raise ValueError(f"Msg_Fmt is 0, 8 or 15, not {msg_fmt}")
    encoding = "ascii" if msg_fmt == content.ASCII else "gbk"
    try:
        chars = [ch.encode(encoding) for ch in text]
    except UnicodeEncodeError:
        raise ValueError(f"the text cannot be written in Msg_Fmt {msg_fmt} ({encoding})") from None
    if sum(map(len, chars)) <= 140:
        return [content.Part(b"".join(chars), 1, 1, 0, msg_fmt)]
    pieces, piece = [], b""
    for raw in chars:  # a GBK character is never split between parts
        if len(piece) + len(raw) > 134:
            pieces.append(piece)
            piece = b""
        piece += raw
    pieces.append(piece)
    total = len(pieces)
    return [
        content.Part(bytes([5, 0, 3, ref, total, n]) + p, total, n, 1, msg_fmt)
        for n, p in enumerate(pieces, start=1)
    ]

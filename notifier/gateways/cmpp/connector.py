"""`notifier cmpp`: the process that holds the CMPP session and moves the texts routed to it.

The outbox stays the source of truth. Texts the workers hand to this gateway sit `queued` with
`gateway = 'cmpp'`; the connector claims them like a worker does (`queued -> sending`, committed
before the SUBMIT), paces them with the cluster-wide limiter, submits them through the session's
window and records each answer (`sent` with the Msg_Id of every part). Status reports and replies
arrive as DELIVERs: each is recorded (once, by Msg_Id) before the session answers it, so one that
is not recorded is not answered and the ISMG delivers it again.

A restart loses nothing and sends nothing twice that the ISMG answered for: every answer is
committed as it comes; the texts a previous run claimed and never got an answer for are queued
again at start. While the session is logged in the connector says so in Redis (a heartbeat);
when it stops, the sweeper gives its waiting texts to the next gateway.

All database work runs in one thread of its own (with an app context), off the event loop.
"""
import asyncio
import concurrent.futures
import functools
import logging
import signal
import time

from flask import current_app
from sqlalchemy import column, exists, func, literal, or_, select, table, update

from notifier.delivery import outbox, sending
from notifier.delivery.models import DELIVERED, QUEUED, SENDING, UNDELIVERED, Message, MessagePart
from notifier.delivery.receipts import apply_gateway_status
from notifier.extensions import db
from notifier.gateways import health
from notifier.gateways.base import ACCEPTED, PERMANENT, THROTTLED, TRANSIENT, UNKNOWN, SendResult
from notifier.gateways.cmpp import session as cmpp
from notifier.gateways.models import MISCONFIGURED, REFUSING, UP
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
NAME = "cmpp"
HEARTBEAT_SECONDS = 2.0
ALIVE_TTL = 10  # seconds a heartbeat counts for: a brief reconnect does not move texts away
CLAIM_AHEAD = 2.0  # seconds of texts (at the limiter's rate) claimed ahead of the window
OUTCOMES = {cmpp.ACCEPTED: ACCEPTED, cmpp.PARTIAL: ACCEPTED, cmpp.FLOW_CONTROL: THROTTLED,
            cmpp.TRANSIENT: TRANSIENT, cmpp.PERMANENT: PERMANENT, cmpp.UNKNOWN: UNKNOWN}

# The connector sits in gateways and reads two fields of a notice without importing notices.
_notices = table("notices", column("id"), column("status"), column("reply_code"), column("reply_mode"))
_notice_cancelled = exists().where(_notices.c.id == Message.notice_id, _notices.c.status == "cancelled")
_extension = (select(_notices.c.reply_code).where(_notices.c.id == Message.notice_id,
                                                  _notices.c.reply_mode != "none").scalar_subquery())


def extension_of(sender, src_id):
    return sender[len(src_id):] if sender and sender.startswith(src_id) else ""


class Connector:
    def __init__(self, app, settings=None):
        self.app = app
        self.settings = settings or cmpp.Settings.from_config(app.config)
        self.session = cmpp.Session(self.settings, on_deliver=self.on_deliver)
        self._db_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cmpp-db")
        self._stopping = asyncio.Event()
        self._inflight = set()
        self._results = []
        self._flushed = asyncio.Event()
        self.started_at = None
        self.stats = {"claimed": 0, "submitted": 0, "reports": 0, "replies": 0}

    # -- running ----------------------------------------------------------------------------
    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._stopping.set)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests host it)
                pass
        self.started_at = await self._db(utcnow)
        await self._db(self.recover)
        await self.session.start()
        tasks = [asyncio.create_task(self._feed(), name="cmpp-feed"),
                 asyncio.create_task(self._watch(), name="cmpp-watch"),
                 asyncio.create_task(self._flusher(), name="cmpp-flush")]
        await self._stopping.wait()
        log.info("cmpp connector stopping: %d texts in flight", len(self._inflight))
        tasks[0].cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        await self.session.close()  # lets reports in flight be recorded, then TERMINATE
        await self._flush()
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._db(health.gone, NAME)
        self._db_thread.shutdown(wait=True)
        log.info("cmpp connector stopped: %s", self.stats)

    def stop(self):
        self._stopping.set()

    async def _db(self, fn, *args):
        """Run fn(*args) in the database thread, inside an app context."""
        return await asyncio.get_running_loop().run_in_executor(
            self._db_thread, functools.partial(self._in_app, fn, *args))

    def _in_app(self, fn, *args):
        with self.app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    # -- the outbox side ------------------------------------------------------------------------
    def recover(self):
        """Texts a previous run claimed and got no answer for go back to the queue: the ISMG
        never answered for them (had it, their Msg_Ids would be recorded)."""
        ids = db.session.scalars(
            update(Message).where(Message.status == SENDING, Message.gateway == NAME,
                                  Message.claimed_at < self.started_at)
            .values(status=QUEUED, queued_at=utcnow(), attempts=Message.attempts - 1)
            .returning(Message.id).execution_options(synchronize_session=False)).all()
        outbox.record_events([(mid, "reconcile", QUEUED, NAME, "the connector restarted before the ISMG "
                                                              "answered: sending again") for mid in ids])
        db.session.commit()
        if ids:
            log.info("cmpp: %d texts claimed by the previous run queued again", len(ids))
        return len(ids)

    def claim(self, limit):
        """Claim up to `limit` texts waiting for this gateway; returns (id, to, body, segments, sender)."""
        now = utcnow()
        src_id = self.settings.src_id
        due = (select(Message.id).where(Message.status == QUEUED, Message.gateway == NAME,
                                        or_(Message.queued_at.is_(None), Message.queued_at <= now))
               .order_by(Message.id).limit(limit))
        if db.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = db.session.execute(
            update(Message).where(Message.id.in_(due.scalar_subquery()), Message.status == QUEUED,
                                  ~_notice_cancelled)
            .values(status=SENDING, claimed_at=now, attempts=Message.attempts + 1, updated_at=now,
                    sender=literal(src_id) + func.coalesce(_extension, ""))
            .returning(Message.id, Message.to, Message.body, Message.segments, Message.sender)
            .execution_options(synchronize_session=False)).all()
        db.session.commit()
        return sorted(rows, key=lambda r: r.id)

    def cancel_stragglers(self):
        """Texts of cancelled notices that were waiting here."""
        ids = db.session.scalars(select(Message.id).where(Message.status == QUEUED, Message.gateway == NAME,
                                                          _notice_cancelled).limit(1000)).all()
        return outbox.cancel(ids, reason="notice cancelled") if ids else []

    def record(self, batch):
        """Record the answers of a batch: the parts' Msg_Ids, then the texts' outcomes."""
        now = utcnow()
        pairs, settle = [], []
        for mid, result in batch:
            outcome = OUTCOMES[result.outcome]
            error = None if result.outcome == cmpp.ACCEPTED else result.error
            code = f"cmpp:{result.result}" if result.result not in (None, 0) else (
                None if outcome == ACCEPTED else result.outcome)
            pairs.append((mid, SendResult(outcome, gateway_id=result.gateway_id,
                                          gateway_status="submitted" if outcome == ACCEPTED else None,
                                          error_code=code, error_message=error)))
            total = len(result.parts)
            for part in result.parts:
                if part.msg_id:
                    _upsert_part(part.msg_id, message_id=mid, number=part.number, total=total, now=now)
                    settle.append(mid)
        db.session.commit()
        counts = sending.record_results(pairs, source=NAME)
        for mid in sorted(set(settle)):  # reports that came before the answer
            _settle(mid)
        db.session.commit()
        return counts

    # -- the session side -----------------------------------------------------------------------
    async def on_deliver(self, event):
        """A report or a reply: recorded before the session answers the DELIVER."""
        if isinstance(event, cmpp.Report):
            await self._flush()  # its answer may be waiting in our batch
            await self._db(record_report, event)
            self.stats["reports"] += 1
        else:
            await self._db(record_reply, event, self.settings.src_id)
            self.stats["replies"] += 1

    async def _feed(self):
        limiter = await self._db(sending.get_limiter, NAME)
        sender = self.settings.src_id
        while not self._stopping.is_set():
            if self.session.state != cmpp.READY:
                await asyncio.sleep(0.2)
                continue
            room = 2 * self.settings.window - len(self._inflight)
            ahead = max(1, int(limiter.rate * CLAIM_AHEAD)) if limiter.rate > 0 else room
            rows = await self._db(self.claim, min(room, ahead)) if room > 0 else []
            if not rows:
                await self._db(self.cancel_stragglers)
                await asyncio.sleep(0.25 if room > 0 else 0.02)
                continue
            self.stats["claimed"] += len(rows)
            for row in rows:
                wait = await asyncio.to_thread(limiter.reserve, sender, max(1, row.segments or 1), 3600)
                task = asyncio.create_task(self._submit(row, wait or 0.0))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _submit(self, row, wait):
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            result = await self.session.submit(row.to, row.body,
                                               extension=extension_of(row.sender, self.settings.src_id))
        except Exception as exc:  # noqa: BLE001  (a bad number or text: refused for good)
            result = cmpp.SubmitResult(cmpp.PERMANENT, [], error=f"{type(exc).__name__}: {exc}"[:500])
        self.stats["submitted"] += 1
        self._results.append((row.id, result))

    async def _flusher(self):
        while True:
            await asyncio.sleep(0.05)
            await self._flush()

    async def _flush(self):
        batch, self._results = self._results, []
        if batch:
            await self._db(self.record, batch)

    async def _watch(self):
        """Tell the platform whether this gateway can carry texts."""
        down_since = None
        while True:
            state = self.session.state
            if state == cmpp.READY:
                down_since = None
                await self._db(_beat, UP, None)
            elif state == cmpp.REJECTED:
                await self._db(_beat, MISCONFIGURED, str(self.session.last_error))
            else:
                down_since = down_since or time.monotonic()
                if time.monotonic() - down_since > ALIVE_TTL:
                    await self._db(_beat, REFUSING, f"no link to the ISMG: {self.session.last_error}")
            await asyncio.sleep(HEARTBEAT_SECONDS)


def _beat(health_state, detail):
    if health_state == UP:
        health.heartbeat(NAME, ALIVE_TTL)
    else:
        health.gone(NAME)
    health.mark(NAME, health_state, detail)


def _upsert_part(msg_id, now, **values):
    part = db.session.scalar(select(MessagePart).where(MessagePart.gateway == NAME, MessagePart.gateway_id == msg_id)
                             .with_for_update())
    if part is None:
        part = MessagePart(gateway=NAME, gateway_id=msg_id, created_at=now)
        db.session.add(part)
    for key, value in values.items():
        if value is not None and getattr(part, key) is None:
            setattr(part, key, value)
    db.session.flush()
    return part


def record_report(report):
    """A status report for one part: the first one counts; the text is settled when every part
    has reported."""
    part = _upsert_part(report.msg_id, utcnow(), stat=report.stat[:16], reported_at=utcnow())
    if part.message_id is not None:
        _settle(part.message_id)
    db.session.commit()


def _settle(message_id):
    parts = db.session.scalars(select(MessagePart).where(MessagePart.message_id == message_id)
                               .order_by(MessagePart.number)).all()
    total = max((p.total or 0 for p in parts), default=0)
    reported = [p for p in parts if p.stat]
    if not total or len(reported) < total:
        return False
    message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    failed = next((p for p in reported if p.stat != "DELIVRD"), None)
    if failed is None:
        return apply_gateway_status(message, None, "DELIVRD", source=NAME, status=DELIVERED)
    return apply_gateway_status(message, None, failed.stat, error_code=failed.stat,
                                error_message=f"part {failed.number} of {total}: {failed.stat}",
                                source=NAME, status=UNDELIVERED)


def record_reply(reply, src_id):
    from notifier.replies.service import receive

    extension = reply.extension or extension_of(reply.dest_id, src_id)
    receive({"MessageSid": f"cmpp-{reply.gateway_id}", "From": reply.sender, "To": reply.dest_id,
             "Body": reply.text}, code=extension or None)


def run(app=None):
    """The `notifier cmpp` command's body: run until SIGTERM."""
    app = app or current_app._get_current_object()
    connector = Connector(app)
    log.info("cmpp connector: %s:%s as %s, access number %s, window %d", connector.settings.host,
             connector.settings.port, connector.settings.sp_id, connector.settings.src_id, connector.settings.window)
    asyncio.run(connector.run())

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
from sqlalchemy import case, column, exists, func, literal, or_, select, table, update
from sqlalchemy.dialects import postgresql, sqlite

from notifier.delivery import outbox, screening, sending
from notifier.delivery.clock import sql_now
from notifier.delivery.models import DELIVERED, QUEUED, SENDING, UNDELIVERED, Message, MessagePart
from notifier.delivery.receipts import apply_final_statuses
from notifier.extensions import db
from notifier.gateways import health
from notifier.gateways.base import ACCEPTED, PERMANENT, THROTTLED, TRANSIENT, UNKNOWN, SendResult
from notifier.gateways.cmpp import session as cmpp
from notifier.gateways.models import MISCONFIGURED, REFUSING, UP
from notifier.roster.models import Deputy
from notifier.timeutil import utcnow

log = logging.getLogger(__name__)
NAME = "cmpp"
HEARTBEAT_SECONDS = 1.0
ALIVE_TTL = 10  # seconds a heartbeat counts for: a brief reconnect does not move texts away
CLAIM_AHEAD = 2.0  # seconds of texts (at the limiter's rate) claimed ahead of the window
OUTCOMES = {cmpp.ACCEPTED: ACCEPTED, cmpp.PARTIAL: ACCEPTED, cmpp.FLOW_CONTROL: THROTTLED,
            cmpp.TRANSIENT: TRANSIENT, cmpp.PERMANENT: PERMANENT, cmpp.UNKNOWN: UNKNOWN}

# The connector sits in gateways and reads two fields of a notice without importing notices.
_notices = table("notices", column("id"), column("status"), column("reply_code"), column("reply_mode"),
                 column("urgent"))
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
        self._waiting = set()  # in flight, but still waiting for their slot
        self._released = []  # claimed, never submitted (the connector stopped first)
        self._results = []
        self._events = []
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
        for task in self._waiting:  # not submitted yet: they go back to the queue
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._released:
            await self._db(self.release, self._released)
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
            log.info("cmpp: %d texts claimed by the previous run queued again", len(ids),
                     extra={"message_ids": list(ids)[:50]})
        return len(ids)

    def claim(self, limit):
        """Claim up to `limit` texts waiting for this gateway, as a worker's send pass does (the
        deputy opted out since: skipped; a notice in quiet hours: held). Returns the rows
        (id, to, body, segments, sender, claimed_at)."""
        now = utcnow()
        due = db.session.execute(
            select(Message.id, Message.notice_id, Message.queued_at, _notices.c.urgent, Deputy.opted_out,
                   Deputy.active)
            .outerjoin(_notices, _notices.c.id == Message.notice_id).outerjoin(Deputy, Deputy.id == Message.deputy_id)
            .where(Message.status == QUEUED, Message.gateway == NAME,
                   or_(Message.queued_at.is_(None), Message.queued_at <= now))
            .order_by(Message.id).limit(limit)).all()
        summary = {}
        due = screening.hold_for_quiet_hours(screening.skip_opted_out(due, summary), summary)
        if not due:
            db.session.commit()
            return []
        claimed_at = sql_now()
        rows = db.session.execute(
            update(Message).where(Message.id.in_([row.id for row in due]), Message.status == QUEUED,
                                  Message.gateway == NAME, ~_notice_cancelled)
            .values(status=SENDING, claimed_at=claimed_at, attempts=Message.attempts + 1,
                    first_attempt_at=func.coalesce(Message.first_attempt_at, claimed_at),
                    error_code=None, error_message=None, updated_at=claimed_at,
                    sender=literal(self.settings.src_id) + func.coalesce(_extension, ""))
            .returning(Message.id, Message.to, Message.body, Message.segments, Message.sender, Message.claimed_at)
            .execution_options(synchronize_session=False)).all()
        db.session.commit()
        return sorted(rows, key=lambda r: r.id)

    def release(self, rows):
        """Claimed texts never submitted go back to the queue, each only from its own claim."""
        for row in rows:
            db.session.execute(
                update(Message).where(Message.id == row.id, Message.status == SENDING,
                                      Message.claimed_at == row.claimed_at)
                .values(status=QUEUED, queued_at=utcnow(), attempts=Message.attempts - 1)
                .execution_options(synchronize_session=False))
        db.session.commit()
        log.info("cmpp: %d claimed texts not submitted before stopping went back to the queue", len(rows),
                 extra={"message_ids": [row.id for row in rows][:50]})

    def cancel_stragglers(self):
        """Texts of cancelled notices that were waiting here."""
        ids = db.session.scalars(select(Message.id).where(Message.status == QUEUED, Message.gateway == NAME,
                                                          _notice_cancelled).limit(1000)).all()
        return outbox.cancel(ids, reason="notice cancelled") if ids else []

    def record(self, batch):
        """Record the answers of a batch: the parts' Msg_Ids, then the texts' outcomes (each only
        onto the claim it was sent under), and tell the limiter how the ISMG took the pace."""
        pairs, claims, parts, accepted_segments, throttled = [], {}, [], 0, False
        for row, result in batch:
            outcome = OUTCOMES[result.outcome]
            error = None if result.outcome == cmpp.ACCEPTED else result.error
            code = f"cmpp:{result.result}" if result.result not in (None, 0) else (
                None if outcome == ACCEPTED else result.outcome)
            pairs.append((row.id, SendResult(outcome, gateway_id=result.gateway_id,
                                             gateway_status="submitted" if outcome == ACCEPTED else None,
                                             error_code=code, error_message=error)))
            claims[row.id] = row.claimed_at
            throttled |= outcome == THROTTLED
            accepted_segments += len(result.msg_ids)
            parts += [{"gateway_id": part.msg_id, "message_id": row.id, "number": part.number,
                       "total": len(result.parts)} for part in result.parts if part.msg_id]
        counts = sending.record_results(pairs, source=NAME, claims=claims)
        settle(upsert_parts(parts))  # reports that came before their answer settle now
        db.session.commit()
        limiter = sending.get_limiter(NAME)
        if throttled:
            limiter.throttled(self.settings.src_id)
        elif accepted_segments:
            limiter.succeeded(self.settings.src_id, accepted_segments)
        return counts

    # -- the session side -----------------------------------------------------------------------
    async def on_deliver(self, event):
        """A report or a reply: recorded (with the answers before it) before the session answers
        the DELIVER; when recording fails the DELIVER stays unanswered and the ISMG repeats it."""
        done = asyncio.get_running_loop().create_future()
        self._events.append((event, done))
        await done

    def record_events(self, events):
        """Reports (in one transaction) and replies, in the order they came; returns an exception
        per event or None."""
        reports = [event for event in events if isinstance(event, cmpp.Report)]
        failures = {}
        if reports:
            try:
                record_reports(reports)
                self.stats["reports"] += len(reports)
            except Exception as exc:  # noqa: BLE001  (unanswered: the ISMG delivers them again)
                log.exception("cmpp: could not record %d reports", len(reports))
                db.session.rollback()
                failures.update((id(r), exc) for r in reports)
        for event in events:
            if isinstance(event, cmpp.Report):
                continue
            try:
                record_reply(event, self.settings.src_id)
                self.stats["replies"] += 1
            except Exception as exc:  # noqa: BLE001
                log.exception("cmpp: could not record a reply")
                db.session.rollback()
                failures[id(event)] = exc
        return [failures.get(id(event)) for event in events]

    async def _feed(self):
        limiter = await self._db(sending.get_limiter, NAME)
        stragglers_at = 0.0
        while not self._stopping.is_set():
            if self.session.state != cmpp.READY:
                await asyncio.sleep(0.2)
                continue
            room = 2 * self.settings.window - len(self._inflight)
            if room <= 0:  # wait for a text to be answered rather than poll the database
                await asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED)
                continue
            ahead = max(1, int(limiter.rate * CLAIM_AHEAD)) if limiter.rate > 0 else room
            rows = await self._db(self.claim, min(room, ahead))
            if not rows:
                if time.monotonic() > stragglers_at:
                    stragglers_at = time.monotonic() + 5
                    await self._db(self.cancel_stragglers)
                await asyncio.sleep(0.25)
                continue
            self.stats["claimed"] += len(rows)
            for row in rows:
                task = asyncio.create_task(self._submit(limiter, row))
                self._inflight.add(task)
                self._waiting.add(task)
                task.add_done_callback(self._inflight.discard)
                task.add_done_callback(self._waiting.discard)

    async def _submit(self, limiter, row):
        """At the text's slot (a fresh one if the pace was cut while it waited), through the window."""
        sender, segments = self.settings.src_id, max(1, row.segments or 1)
        try:
            slot = await asyncio.to_thread(limiter.reserve_slot, sender, segments, 3600)
            while slot is not None and slot.wait > 0:
                await asyncio.sleep(slot.wait)
                if await asyncio.to_thread(limiter.generation, sender) <= slot.generation:
                    break
                slot = await asyncio.to_thread(limiter.reserve_slot, sender, segments, 3600)
        except asyncio.CancelledError:
            self._released.append(row)
            raise
        self._waiting.discard(asyncio.current_task())
        try:
            result = await self.session.submit(row.to, row.body,
                                               extension=extension_of(row.sender, self.settings.src_id))
        except Exception as exc:  # noqa: BLE001  (a bad number or text: refused for good)
            result = cmpp.SubmitResult(cmpp.PERMANENT, [], error=f"{type(exc).__name__}: {exc}"[:500])
        self.stats["submitted"] += 1
        self._results.append((row, result))

    async def _flusher(self):
        while True:
            await asyncio.sleep(0.02)
            await self._flush()

    async def _flush(self):
        """Record what came since the last flush: the answers first (a report may name a part
        only they introduce), then the reports and replies, whose DELIVERs are answered after."""
        results, self._results = self._results, []
        events, self._events = self._events, []
        try:
            if results:
                await self._db(self.record, results)
        finally:
            if events:
                failures = await self._db(self.record_events, [event for event, _ in events])
                for (_, done), failure in zip(events, failures, strict=True):
                    if failure is None:
                        done.set_result(None)
                    else:
                        done.set_exception(failure)

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


def upsert_parts(parts):
    """Write parts by Msg_Id ({"gateway_id", and any of message_id, number, total, stat,
    reported_at}); a value already there stays (the first report counts). Returns the ids of the
    messages the parts belong to, where known."""
    merged = {}
    for part in parts:
        row = merged.setdefault(part["gateway_id"], {"gateway": NAME, "gateway_id": part["gateway_id"],
                                                     "created_at": utcnow()})
        row.update({k: v for k, v in part.items() if v is not None and row.get(k) is None})
    if not merged:
        return []
    columns = ("message_id", "number", "total", "stat", "reported_at")
    rows = [{"message_id": None, "number": None, "total": None, "stat": None, "reported_at": None, **row}
            for row in merged.values()]
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(MessagePart).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[MessagePart.gateway, MessagePart.gateway_id],
        set_={c: func.coalesce(getattr(MessagePart, c), getattr(statement.excluded, c)) for c in columns})
    return sorted({mid for mid in db.session.scalars(statement.returning(MessagePart.message_id)) if mid})


def settle(message_ids):
    """Texts whose every part has reported become delivered (all DELIVRD) or undelivered (the
    carrier's Stat of a part that was not)."""
    if not message_ids:
        return []
    not_delivered = case((MessagePart.stat != "DELIVRD", MessagePart.stat))
    rows = db.session.execute(
        select(MessagePart.message_id, func.count(MessagePart.stat), func.max(MessagePart.total),
               func.min(not_delivered))
        .where(MessagePart.message_id.in_(message_ids)).group_by(MessagePart.message_id)).all()
    changes = []
    for mid, reported, total, failed in rows:
        if total and reported >= total:
            changes.append((mid, DELIVERED, "DELIVRD", None, None) if failed is None else
                           (mid, UNDELIVERED, failed, failed, f"the carrier reported {failed}"))
    return apply_final_statuses(changes, NAME)


def record_reports(reports):
    """Status reports, one transaction: the first report of a part counts."""
    now = utcnow()
    ids = upsert_parts([{"gateway_id": r.msg_id, "stat": r.stat[:16], "reported_at": now} for r in reports])
    settle(ids)
    db.session.commit()


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

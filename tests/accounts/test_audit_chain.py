"""The tamper-evident audit trail: rows chained by hash, `notifier audit verify` finding a changed
or removed row, the database refusing edits, concurrent writers keeping one chain, retention of
at least 180 days, and audit rows for full numbers seen and personal data exported."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from notifier.audit.chain import GENESIS, purge, verify
from notifier.audit.models import AuditEvent
from notifier.audit.service import record
from notifier.extensions import db
from notifier.timeutil import utcnow


def _write(n, actor="someone"):
    for i in range(n):
        record("notice.create", actor=actor, n=i, note="通知")
        db.session.commit()


def _verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _tamper(sql, **params):
    """What someone with the database owner's rights could do: switch the trigger off, edit."""
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        conn.execute(text(sql), params)
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def test_rows_are_chained_and_verify_passes(app, ctx):
    _write(5)
    rows = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    code, output = _verify(app)
    assert code == 0 and "5 rows checked" in output and rows[-1].row_hash in output


def test_a_changed_row_is_found(app, ctx):
    _write(5)
    third = db.session.execute(db.select(AuditEvent.id).order_by(AuditEvent.id).offset(2)).scalar()
    _tamper("UPDATE audit_events SET actor = 'nobody' WHERE id = :id", id=third)
    code, output = _verify(app)
    assert code == 1 and f"audit row {third}: its contents were changed" in output


def test_a_removed_row_is_found(app, ctx):
    _write(5)
    third = db.session.execute(db.select(AuditEvent.id).order_by(AuditEvent.id).offset(2)).scalar()
    _tamper("DELETE FROM audit_events WHERE id = :id", id=third)
    code, output = _verify(app)
    assert code == 1 and f"audit row {third + 1}: does not follow the row before it" in output


def test_the_database_refuses_edits_and_deletes(ctx):
    _write(2)
    for sql in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 2


def test_concurrent_writers_keep_one_chain(app, ctx):
    def writer(k):
        with app.app_context():
            for i in range(15):
                record("notice.create", actor=f"w{k}", n=i)
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked, _head, breaks = verify(db.session)
    assert checked == 60 and breaks == []


def test_retention_is_at_least_180_days(app, ctx):
    from config import _int

    assert str(_int("AUDIT_RETENTION_DAYS", "90", at_least=180)).startswith("AUDIT_RETENTION_DAYS='90'")
    old = AuditEvent(at=utcnow() - timedelta(days=200), actor="cli", action="user.create", detail={})
    recent = AuditEvent(at=utcnow() - timedelta(days=170), actor="cli", action="user.create", detail={})
    db.session.add_all([old, recent])
    db.session.commit()
    _write(1)
    assert purge(db.session, days=30) == 1  # asked for 30 days: 180 still apply, only the 200-day row goes
    remaining = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert remaining == ["user.create", "notice.create", "audit.purge"]
    code, output = _verify(app)
    assert code == 0, output  # the purge row anchors what remains


def test_full_numbers_seen_and_exports_are_audited(app, client, make_user, login):
    from notifier.roster.service import create_deputy

    with app.app_context():
        create_deputy({"name": "张三", "phone": "13800138000", "levels": "county"}, actor="system")
        create_deputy({"name": "李四", "phone": "13900139000", "levels": "county"}, actor="system")
    login(make_user("composer", username="clerk"))
    assert client.get("/deputies/").status_code == 200
    client.get("/deputies/download/csv/")
    with app.app_context():
        events = db.session.execute(db.select(AuditEvent).where(AuditEvent.actor == "clerk")
                                    .order_by(AuditEvent.id)).scalars().all()
        seen = [e.detail for e in events if e.action == "personal.view_numbers"]
        assert seen[0]["path"] == "/deputies/" and seen[0]["numbers"] == 2
        assert "roster.export" in [e.action for e in events]

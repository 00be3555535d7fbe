"""Duty-record benchmark (not a test): a year of duty work for N deputies (2,000 by default) in 20
groups: M meeting invitations to everyone (24), replies, sign-ins and 300 suggestions; then the
year-end summaries (per deputy, group and level), the XLSX workbook and one deputy's record, each
the median of --runs runs.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    python bench/duty_record_bench.py [-n 2000] [-m 24] [--runs 3]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt: give it a database of its own.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def seed(n, m):
    from sqlalchemy import insert

    from notifier.delivery.models import Message
    from notifier.duty.models import Attendance, Suggestion
    from notifier.extensions import db
    from notifier.notices.models import Notice
    from notifier.replies.models import InboundMessage
    from notifier.roster.models import Deputy, DeputyGroup, deputy_group_members, deputy_levels
    from notifier.timeutil import utcnow

    now = utcnow()
    start = now.replace(month=1, day=2, hour=2)
    ids = db.session.scalars(insert(Deputy).returning(Deputy.id), [
        {"name": f"代表{i}", "phone": f"+86139{i:08d}", "constituency": "", "organisation": "", "title": "",
         "active": True, "opted_out": False, "created_at": now, "updated_at": now} for i in range(n)]).all()
    db.session.execute(insert(deputy_levels), [{"deputy_id": d, "level_code": "county"} for d in ids])
    groups = db.session.scalars(insert(DeputyGroup).returning(DeputyGroup.id), [
        {"name": f"第{g}代表小组", "kind": "group", "created_at": now} for g in range(20)]).all()
    db.session.execute(insert(deputy_group_members), [{"deputy_id": d, "group_id": groups[i % 20]}
                                                      for i, d in enumerate(ids)])
    step = (now - start) / max(m, 1)
    for k in range(m):
        at = start + step * k
        notice_id = db.session.scalar(insert(Notice).returning(Notice.id), {
            "title": f"会议{k}", "body": "x", "category": "meeting", "source": "congress", "audience": {},
            "reply_mode": "confirm", "status": "completed", "meeting_at": at, "sending_at": at - timedelta(days=3),
            "urgent": False, "created_at": at, "updated_at": at})
        db.session.execute(insert(Message), [
            {"notice_id": notice_id, "deputy_id": d, "to": f"+86139{i:08d}", "body": "x", "segments": 1,
             "encoding": "UCS-2", "status": "delivered", "attempts": 1, "sender": "+15005550006",
             "created_at": at - timedelta(days=3), "updated_at": at} for i, d in enumerate(ids)])
        db.session.execute(insert(InboundMessage), [
            {"gateway_id": f"SM{k:04d}{i:08d}", "from_number": f"+86139{i:08d}", "to_number": "", "late": False,
             "body": "1" if i % 5 else "2 出差", "kind": "confirm" if i % 5 else "decline", "deputy_id": d,
             "notice_id": notice_id, "received_at": at - timedelta(days=2)}
            for i, d in enumerate(ids) if i % 4])
        db.session.execute(insert(Attendance), [
            {"notice_id": notice_id, "deputy_id": d, "status": "attended", "via": "door", "signed_in_at": at,
             "updated_at": at} for i, d in enumerate(ids) if i % 5 and i % 3])
    db.session.execute(insert(Suggestion), [
        {"number": f"{now.year}-{s + 1:03d}", "year": now.year, "seq": s + 1, "deputy_id": ids[(s * 7) % n],
         "text": "建议", "source": "sms", "status": "answered" if s % 2 else "assigned", "organ": "县政府",
         "satisfaction": "satisfied" if s % 4 == 1 else None, "created_at": start + timedelta(days=s % 300),
         "updated_at": now} for s in range(300)])
    db.session.commit()
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="deputies (default 2000)")
    parser.add_argument("-m", type=int, default=24, help="meetings in the year (default 24)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL")
    if not db_url:
        parser.error("set BENCH_DATABASE_URL (its schema is reset by the benchmark)")
    os.environ.setdefault("NOTIFIER_ENV", "testing")

    from flask_migrate import upgrade
    from sqlalchemy import text

    from notifier import create_app
    from notifier.duty import record
    from notifier.extensions import db
    from notifier.roster.models import Deputy

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url)
    with app.app_context(), app.test_request_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        started = time.perf_counter()
        ids = seed(args.n, args.m)
        print(f"seeded {args.n} deputies, {args.m} meetings ({args.n * args.m:,} texts) in "
              f"{time.perf_counter() - started:.1f} s")
        span = record.period()
        times = {"summaries (deputies, groups, levels)": [], "XLSX workbook": [], "one deputy's record": []}
        for _ in range(args.runs):
            for label, step in (("summaries (deputies, groups, levels)", lambda: record.summaries(span)),
                                ("XLSX workbook", lambda: record.export_xlsx(span)),
                                ("one deputy's record", lambda: record.deputy_record(db.session.get(Deputy, ids[7]),
                                                                                      span))):
                t0 = time.perf_counter()
                result = step()
                times[label].append(time.perf_counter() - t0)
                db.session.remove()
        total = result["meetings_attended"] + result["meetings_leave"] + result["meetings_absent"]
        assert total == args.m, result
    print(f"\nDuty-record benchmark: {args.n} deputies, {args.m} meetings, median of {args.runs} runs")
    for label, values in times.items():
        print(f"  {label:38s} {statistics.median(values):6.2f} s")


if __name__ == "__main__":
    main()

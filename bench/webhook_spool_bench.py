"""Webhook spool benchmark (not a test): the cost of a status callback handled at once (database
up) against one kept in the spool (database away: a file written and fsynced), and how fast
`notifier webhooks drain` handles the spool once the database is back.

The app reaches PostgreSQL through a TCP proxy that the benchmark cuts, as in the tests; requests
go through Flask's test client, one at a time, so the figures are the platform's own cost per
request (signature check included), without an HTTP server in front.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/notifier_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/webhook_spool_bench.py [-n 2000]

The schema of BENCH_DATABASE_URL is DROPPED and rebuilt: give it a database of its own.
"""
import argparse
import tempfile
import time

from _common import bench_urls, fresh_schema, platform_env


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="callbacks per phase (default 2000)")
    args = parser.parse_args()
    db_url, redis_url = bench_urls(parser)
    platform_env(db_url, redis_url, "http://127.0.0.1:9")

    from sqlalchemy import func, insert, select
    from sqlalchemy.engine import make_url
    from twilio.request_validator import RequestValidator

    from notifier import create_app
    from notifier.delivery import inbox
    from notifier.delivery.models import Message
    from notifier.extensions import db
    from notifier.simulator import DEFAULT_AUTH_TOKEN
    from notifier.timeutil import utcnow
    from tests.delivery.tcpproxy import TcpProxy

    direct = create_app("testing", SQLALCHEMY_DATABASE_URI=db_url, REDIS_URL=redis_url)
    fresh_schema(direct)
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    spool_dir = tempfile.mkdtemp(prefix="webhook-spool-")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port)
                     .render_as_string(hide_password=False), REDIS_URL=redis_url, WEBHOOK_SPOOL_DIR=spool_dir,
                     WEBHOOK_DRAIN_INTERVAL_SECONDS=0, TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
                     PUBLIC_BASE_URL="http://localhost")
    n = args.n
    with direct.app_context():
        now = utcnow()
        ids = db.session.scalars(insert(Message).returning(Message.id), [
            {"to": f"+86138{i:08d}", "body": "【县人大常委会】基准", "segments": 1, "encoding": "UCS-2", "sender": "+1",
             "status": "sent", "gateway_id": f"SM{i:032x}", "attempts": 1, "sent_at": now, "created_at": now,
             "updated_at": now} for i in range(2 * n)]).all()
        db.session.commit()
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    client = app.test_client()

    def post(message_id, status):
        path = f"/webhooks/twilio/status?message_id={message_id}"
        params = {"MessageSid": f"SM{message_id - ids[0]:032x}", "MessageStatus": status}
        response = client.post(path, data=params, headers={
            "X-Twilio-Signature": validator.compute_signature(f"http://localhost{path}", params)})
        assert response.status_code == 200, response.status_code

    def phase(name, message_ids):
        started = time.perf_counter()
        for mid in message_ids:
            post(mid, "delivered")
        elapsed = time.perf_counter() - started
        print(f"{name:<28} {len(message_ids) / elapsed:8.0f} callbacks/s  {1000 * elapsed / len(message_ids):6.2f} ms each")

    phase("handled (database up)", ids[:n])
    proxy.cut()
    phase("spooled (database away)", ids[n:2 * n])
    proxy.restore()
    with app.app_context():
        started = time.perf_counter()
        counts = inbox.drain()
        elapsed = time.perf_counter() - started
    print(f"{'drained after it is back':<28} {counts['done'] / elapsed:8.0f} callbacks/s  ({counts})")
    with direct.app_context():
        delivered = db.session.scalar(select(func.count()).select_from(Message).where(Message.status == "delivered"))
        left = len(inbox.spool(app).names())
    print(f"delivered: {delivered} of {2 * n} posted; left in the spool: {left}")
    proxy.close()


if __name__ == "__main__":
    main()

"""Seed a million message rows quickly with generate_series (PostgreSQL): 5,000 deputies at one or
two levels, 200 notices, one message per notice x deputy, statuses and error codes in a fixed mix.
Used by the query-plan test and by bench/log_bench.py."""
from sqlalchemy import text

SEED_SQL = [
    """INSERT INTO deputies (id, name, name_sort, phone, constituency, organisation, title, active, opted_out,
                             created_at, updated_at)
       SELECT g, '代表' || g, 'dai4 biao3 ' || g || ' 代表' || g, '+86139' || lpad(g::text, 8, '0'), '', '', '',
              true, false, now(), now()
       FROM generate_series(1, :deputies) g""",
    """INSERT INTO deputy_levels (deputy_id, level_code)
       SELECT g, (ARRAY['national','provincial','municipal','county'])[1 + g % 4] FROM generate_series(1, :deputies) g
       UNION ALL SELECT g, 'county' FROM generate_series(1, :deputies) g WHERE g % 4 <> 3""",
    """INSERT INTO notices (id, title, body, category, source, audience, reply_mode, urgent, status, created_at,
                            updated_at)
       SELECT g, '通知' || g, '请参加会议', 'meeting',
              (ARRAY['county_committee','government','congress','court','procuratorate','other'])[1 + g % 6],
              '{}', 'none', false, 'completed', now() - interval '40 days', now()
       FROM generate_series(1, :notices) g""",
    """INSERT INTO messages (id, notice_id, deputy_id, "to", body, segments, encoding, sender, status, error_code,
                             error_message, attempts, queued_at, sent_at, delivered_at, failed_at, created_at,
                             updated_at)
       SELECT i, 1 + (i - 1) / :deputies, 1 + (i - 1) % :deputies, '+86139' || lpad((1 + (i - 1) % :deputies)::text, 8, '0'),
              '【县人大常委会】请参加会议。', 1, 'UCS-2', 'MG1',
              (ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','sent','failed',
                     'undelivered','skipped'])[1 + i % 10],
              CASE i % 10 WHEN 7 THEN '30003' WHEN 8 THEN (ARRAY['30005','30006','21211'])[1 + i % 3] END,
              NULL, 1, ts, ts + interval '2 seconds', CASE WHEN i % 10 < 6 THEN ts + interval '30 seconds' END,
              CASE WHEN i % 10 IN (7, 8) THEN ts + interval '5 seconds' END, ts, ts
       FROM (SELECT i, now() - (:rows - i) * interval '2 seconds' AS ts
             FROM generate_series(1, :rows) i) s""",
    "SELECT setval(pg_get_serial_sequence('messages', 'id'), :rows)",
    "SELECT setval(pg_get_serial_sequence('deputies', 'id'), :deputies)",
    "SELECT setval(pg_get_serial_sequence('notices', 'id'), :notices)",
]


def seed_million(connection, rows=1_000_000, deputies=5_000):
    """Insert with the plain secondary indexes of `messages` dropped, then build them again from
    their own definitions (a bulk build is several times faster than maintaining 14 indexes)."""
    notices = -(-rows // deputies)
    indexes = connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages' AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass)")).all()
    connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    connection.execute(text("SET LOCAL synchronous_commit = off"))
    for name, _definition in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    for statement in SEED_SQL:
        connection.execute(text(statement), {"rows": rows, "deputies": deputies, "notices": notices})
    for _name, definition in indexes:
        connection.execute(text(definition))
    connection.execute(text("ANALYZE deputies, deputy_levels, notices, messages"))

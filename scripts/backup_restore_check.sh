#!/usr/bin/env bash
# Back up the platform's PostgreSQL database and prove the backup restores:
#
#   scripts/backup_restore_check.sh postgresql://notifier:PASS@db:5432/notifier [backup-dir]
#
# 1. pg_dump -Fc (custom format: compressed, restorable table by table) into backup-dir
#    (default ./backups), named by the UTC time;
# 2. restore it into a scratch database beside the original (<name>_restore_check);
# 3. compare the row count of every table, and check the restored audit trail's hash chain
#    (`notifier audit verify`): a backup that does not restore whole is not a backup;
# 4. drop the scratch database. Exit 0 only when all of that held.
#
# Run it from cron (e.g. nightly) and copy backup-dir off the machine. To restore for real:
#   pg_restore --clean --if-exists --no-owner -d postgresql://.../notifier backups/notifier-<time>.dump
# with the web, workers and beat stopped, then start them: Redis needs nothing (the sweeper queues
# again whatever the database says should move).
set -euo pipefail

URL="${1:?usage: $0 postgresql://user:pass@host:port/dbname [backup-dir]}"
DIR="${2:-backups}"
URL="${URL/postgresql+psycopg:/postgresql:}"   # the app's SQLAlchemy URL works too
BASE="${URL%/*}"
NAME="${URL##*/}"
NAME="${NAME%%\?*}"
SCRATCH="${NAME}_restore_check"
mkdir -p "$DIR"
FILE="$DIR/$NAME-$(date -u +%Y%m%dT%H%M%SZ).dump"

pg_dump --format=custom --no-owner --file="$FILE" "$URL"
echo "backup: $FILE ($(stat -c %s "$FILE") bytes)"

psql -q -v ON_ERROR_STOP=1 "$BASE/postgres" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" -c "CREATE DATABASE \"$SCRATCH\""
trap 'psql -q "$BASE/postgres" -c "DROP DATABASE IF EXISTS \"$SCRATCH\"" >/dev/null 2>&1 || true' EXIT
pg_restore --no-owner --exit-on-error --dbname="$BASE/$SCRATCH" "$FILE"

counts() {
  psql -At -v ON_ERROR_STOP=1 "$1" -c "
    SELECT string_agg(format('%s=%s', t, (xpath('/row/c/text()',
             query_to_xml(format('SELECT count(*) AS c FROM %I', t), false, true, '')))[1]::text), ' ' ORDER BY t)
    FROM (SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public') tables"
}
ORIGINAL="$(counts "$URL")"
RESTORED="$(counts "$BASE/$SCRATCH")"
if [ "$ORIGINAL" != "$RESTORED" ]; then
  echo "restore check FAILED: row counts differ" >&2
  echo "original: $ORIGINAL" >&2
  echo "restored: $RESTORED" >&2
  exit 1
fi
echo "restored: every table has the same number of rows ($ORIGINAL)"

if command -v notifier >/dev/null 2>&1 || [ -n "${NOTIFIER_BIN:-}" ]; then
  DATABASE_URL="${BASE/postgresql:/postgresql+psycopg:}/$SCRATCH" "${NOTIFIER_BIN:-notifier}" audit verify
fi
echo "restore check passed"

"""scripts/backup_restore_check.sh: a PostgreSQL backup that restores whole, with its audit
chain intact, into a scratch database beside the original."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_backup_restores_with_the_same_rows_and_an_intact_audit_chain(app, make_user, tmp_path):
    make_user("composer")
    make_user("viewer")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    notifier_bin = os.path.join(os.path.dirname(sys.executable), "notifier")
    env = {**os.environ, "NOTIFIER_ENV": "development", "NOTIFIER_BIN": notifier_bin, "SECRET_KEY": "backup-check"}
    result = subprocess.run(["bash", os.path.join(ROOT, "scripts", "backup_restore_check.sh"), url, str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "users=2" in result.stdout and "restore check passed" in result.stdout
    assert "rows checked" in result.stdout  # notifier audit verify on the restored copy
    assert list(tmp_path.glob("*.dump"))

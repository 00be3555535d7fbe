"""The migrations produce exactly the models' schema, on PostgreSQL and on SQLite."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from notifier import create_app
from notifier.extensions import db


def _diff(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def test_postgres_schema_matches_models(app):
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert _diff(db.engine) == []


def test_sqlite_upgrade_downgrade_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        assert _diff(db.engine) == []
        with db.engine.connect() as conn:
            levels = conn.execute(text("SELECT code FROM levels ORDER BY rank")).scalars().all()
            assert levels == ["national", "provincial", "municipal", "county"]
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "deputies" in inspect(create_engine(url)).get_table_names()

"""PostgreSQL: every statement that changes a table read by a stamp (`reports.queries`) sends
NOTIFY tracker_stamps at its commit, which each worker LISTENs for (`tracker.watch`), so that a
cached answer's stamp is read once per change. SQLite needs nothing (`PRAGMA data_version`).

Revision ID: 5b1d0c7e9a42
Revises: 92396b35f919
Create Date: 2026-12-02 18:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1d0c7e9a42"
down_revision: str | Sequence[str] | None = "92396b35f919"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tests/test_watch.py checks that these are all the tables the stamps read.
STAMPED = ("audit_entry", "gemeinde", "level_mapping", "maturity_model", "model_level",
           "municipal_leika_type", "pair_revision")  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION notify_stamp_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('tracker_stamps', ''); RETURN NULL; END $$"
    )
    for table in STAMPED:
        op.execute(
            f"CREATE TRIGGER notify_stamp_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION notify_stamp_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in STAMPED:
        op.execute(f"DROP TRIGGER notify_stamp_change ON {table}")
    op.execute("DROP FUNCTION notify_stamp_change()")

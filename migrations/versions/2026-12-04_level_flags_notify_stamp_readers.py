"""PostgreSQL: a change of the level flags sends NOTIFY tracker_stamps too, as for every table a
stamp reads (`2026-12-02_notify_on_stamped_tables`): the reference now holds the scales' flags
(`applicability.Scales.flags`), and its stamp counts them.

Revision ID: 3f7a9c2d1e60
Revises: 51c0c6744027
Create Date: 2026-12-04 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f7a9c2d1e60"
down_revision: str | Sequence[str] | None = "51c0c6744027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tests/test_watch.py checks that these and the first migration's are the stamps' tables.
STAMPED = ("level_flag",)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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

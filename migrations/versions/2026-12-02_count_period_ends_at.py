"""A closed period's last moment, stored with it, so that the counts of every closed month can
be read in one join with the assessments' moments. The counts are derived: they are dropped
here and `tracker db upgrade` counts them anew from the assessments.

Revision ID: 92396b35f919
Revises: 6eee010a8e01
Create Date: 2026-12-02 12:26:40.771489
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "92396b35f919"
down_revision: str | Sequence[str] | None = "6eee010a8e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("gemeinde_level_count", "leistung_kreis_count", "count_period"):
        op.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608  (constant names)
    with op.batch_alter_table("count_period", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("count_period", schema=None) as batch_op:
        batch_op.drop_column("ends_at")

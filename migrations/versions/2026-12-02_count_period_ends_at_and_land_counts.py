"""A closed period's last moment, stored with it, so that the counts of every closed month can
be read in one join with the assessments' moments; the Leistung counts per Land beside those
per Kreis. The counts are derived: they are dropped here and `tracker db upgrade` counts them
anew from the assessments.

Revision ID: 92396b35f919
Revises: 6eee010a8e01
Create Date: 2026-12-02 12:26:40.771489
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
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
    op.create_table(
        "leistung_land_count",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("land", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("assessed", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("ozg_konform", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_end", "ozg_id", "land", "dimension", name=op.f("pk_leistung_land_count")
        ),
    )


def downgrade() -> None:
    op.drop_table("leistung_land_count")
    with op.batch_alter_table("count_period", schema=None) as batch_op:
        batch_op.drop_column("ends_at")

"""Counts of the pair levels per Gemeinde and per Leistung × Kreis, now and at the end of every
closed month (derived: `tracker db upgrade` builds them with the pair levels).

Revision ID: 6eee010a8e01
Revises: 23c57e4670db
Create Date: 2026-12-02 04:53:31.629157
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "6eee010a8e01"
down_revision: str | Sequence[str] | None = "23c57e4670db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "count_period",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period_end", name=op.f("pk_count_period")),
    )
    revision_table = op.create_table(
        "pair_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_revision")),
    )
    op.bulk_insert(
        revision_table, [{"id": 1, "revision": 0, "changed_at": datetime(2026, 12, 2, tzinfo=UTC)}]
    )
    op.create_table(
        "gemeinde_level_count",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_end", "ars", "dimension", "level", name=op.f("pk_gemeinde_level_count")
        ),
    )
    op.create_table(
        "leistung_kreis_count",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kreis", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("assessed", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("ozg_konform", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_end", "ozg_id", "kreis", "dimension", name=op.f("pk_leistung_kreis_count")
        ),
    )


def downgrade() -> None:
    op.drop_table("leistung_kreis_count")
    op.drop_table("gemeinde_level_count")
    op.drop_table("count_period")
    op.drop_table("pair_revision")

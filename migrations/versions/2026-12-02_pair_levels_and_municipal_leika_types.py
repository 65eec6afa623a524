"""The current level of every pair as one relation, and the LeiKa-Typ codes that apply to
Gemeinden as data (seeded with the default that was a setting until now).

The pair levels are derived: `tracker db upgrade` builds them for a database that has
validated assessments and none yet.

Revision ID: 23c57e4670db
Revises: 85de7a3238c8
Create Date: 2026-12-02 04:25:30.344288
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "23c57e4670db"
down_revision: str | Sequence[str] | None = "85de7a3238c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Executed by Länder and Kommunen (DOMAIN.md 1.2); type 1 (the Bund executes) does not apply.
DEFAULT_TYPES = ("2", "2/3", "2/3a", "2/3b", "3", "3a", "3b", "4", "5", "6")


def upgrade() -> None:
    types = op.create_table(
        "municipal_leika_type",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_municipal_leika_type")),
    )
    op.create_table(
        "pair_level",
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("lowest", sa.Integer(), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.Column("leika_id", sa.Integer(), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("newest_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("land_wide_portal", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ars"], ["gemeinde.ars"], name=op.f("fk_pair_level_ars_gemeinde")),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_pair_level_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["leika_id"], ["leika_leistung.id"], name=op.f("fk_pair_level_leika_id_leika_leistung")
        ),
        sa.ForeignKeyConstraint(
            ["ozg_id"], ["ozg_leistung.ozg_id"], name=op.f("fk_pair_level_ozg_id_ozg_leistung")
        ),
        sa.PrimaryKeyConstraint("ars", "ozg_id", "dimension", name=op.f("pk_pair_level")),
    )
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pair_level_ozg_id_dimension", ["ozg_id", "dimension"], unique=False
        )
    seeded = datetime(2026, 12, 2, tzinfo=UTC)
    op.bulk_insert(
        types,
        [{"code": code, "added_at": seeded, "added_by": "migration"} for code in DEFAULT_TYPES],
    )


def downgrade() -> None:
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.drop_index("ix_pair_level_ozg_id_dimension")

    op.drop_table("pair_level")
    op.drop_table("municipal_leika_type")

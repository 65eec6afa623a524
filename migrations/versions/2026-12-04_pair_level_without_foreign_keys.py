"""The pair levels lose their foreign keys: a derived relation, each row read from the rows it
would reference (and `tracker verify pairs` proves it), whose four per-row key checks took
three quarters of a bulk import's pair refresh on PostgreSQL.

Revision ID: 785fc14086e9
Revises: 813d9e6f6b8d
Create Date: 2026-12-04 01:56:01.217825
"""

from collections.abc import Sequence

from alembic import op

revision: str = "785fc14086e9"
down_revision: str | Sequence[str] | None = "813d9e6f6b8d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_pair_level_ars_gemeinde"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_pair_level_ozg_id_ozg_leistung"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_pair_level_leika_id_leika_leistung"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_pair_level_assessment_id_assessment"), type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_pair_level_assessment_id_assessment"),
            "assessment",
            ["assessment_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pair_level_leika_id_leika_leistung"),
            "leika_leistung",
            ["leika_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pair_level_ozg_id_ozg_leistung"), "ozg_leistung", ["ozg_id"], ["ozg_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pair_level_ars_gemeinde"), "gemeinde", ["ars"], ["ars"]
        )

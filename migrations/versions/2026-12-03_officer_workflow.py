"""The officer's workflow: an assessor's comment on an assessment, criteria with a stand-in
name marked as such (kept off the form until an admin names them), and the flags each scale
defines from a level on (`level_flag`: online and OZG-konform on RGM 1.1, digital bearbeitet,
Once-Only and vollautomatisch on the back-office scale B0-B6).

Data: a criterion „falls erforderlich“ left unrated now counts as not required
(`maturity.rules.score`), so stored assessments drop such criteria from `missing_criteria`
and are provisional only while a required one is missing; each pair level takes the flag of
the assessment that gives it. The downgrade keeps the data (the old rule cannot be told apart).

Revision ID: 7d3e0a91c4b2
Revises: 28a7c5f77386
Create Date: 2026-12-03 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7d3e0a91c4b2"
down_revision: str | Sequence[str] | None = "28a7c5f77386"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAND_IN = "%(Name ungeprüft)%"
# model key → (flag key, name, from level); the back-office ones from DOMAIN.md 2.7 (our scale)
FLAGS = {
    "ozg-rgm-1.1": [("online", "online", 2), ("ozg_konform", "OZG-konform", 3)],
    "backoffice-b": [
        ("digital_bearbeitet", "digital bearbeitet", 3),
        ("once_only", "Once-Only", 4),
        ("vollautomatisch", "vollautomatisch (§ 35a VwVfG)", 6),
    ],
}


def upgrade() -> None:
    with op.batch_alter_table("assessment") as batch:
        batch.add_column(sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table("model_criterion") as batch:
        batch.add_column(
            sa.Column("placeholder", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    criterion = sa.table(
        "model_criterion", sa.column("name", sa.String()), sa.column("placeholder", sa.Boolean())
    )
    op.execute(
        criterion.update().where(criterion.c.name.like(STAND_IN)).values(placeholder=sa.true())
    )
    flag = op.create_table(
        "level_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["maturity_model.id"], name=op.f("fk_level_flag_model_id_maturity_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_flag")),
        sa.UniqueConstraint("model_id", "key", name=op.f("uq_level_flag_model_id")),
    )
    op.create_index(op.f("ix_level_flag_model_id"), "level_flag", ["model_id"], unique=False)
    bind = op.get_bind()
    models = dict(bind.execute(sa.text("SELECT key, id FROM maturity_model")).all())
    op.bulk_insert(
        flag,
        [
            {"model_id": models[key], "key": name, "name": label, "from_level": level}
            for key, flags in FLAGS.items()
            if key in models
            for name, label, level in flags
        ],
    )
    rescore_unrated_optional()


def rescore_unrated_optional() -> None:
    bind = op.get_bind()
    optional = {
        (model_id, key)
        for model_id, key in bind.execute(
            sa.text("SELECT model_id, key FROM model_criterion WHERE optional")
        )
    }
    assessment = sa.table(
        "assessment", sa.column("id", sa.Integer()), sa.column("model_id", sa.Integer()),
        sa.column("missing_criteria", sa.JSON()), sa.column("provisional", sa.Boolean()),
        sa.column("ratings", sa.JSON()),
    )  # fmt: skip
    rows = bind.execute(
        sa.select(
            assessment.c.id, assessment.c.model_id, assessment.c.missing_criteria,
            assessment.c.ratings,
        ).where(assessment.c.provisional)
    ).all()  # fmt: skip
    for number, model_id, missing, ratings in rows:
        if not ratings:  # an import's floor without ratings stays provisional
            continue
        kept = [key for key in missing if (model_id, key) not in optional]
        if kept != missing:
            bind.execute(
                assessment.update()
                .where(assessment.c.id == number)
                .values(missing_criteria=kept, provisional=bool(kept))
            )
    op.execute(
        "UPDATE pair_level SET provisional = (SELECT assessment.provisional FROM assessment"
        " WHERE assessment.id = pair_level.assessment_id)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_level_flag_model_id"), table_name="level_flag")
    op.drop_table("level_flag")
    with op.batch_alter_table("model_criterion") as batch:
        batch.drop_column("placeholder")
    with op.batch_alter_table("assessment") as batch:
        batch.drop_column("comment")

"""A pair keeps the source of the assessment that gave its level, so that a report's credits
(which sources its figures come from) are counted in the same pass as its figures, without a
join to the assessments. Filled from the assessments here.

Revision ID: 4c8f1a2b9d60
Revises: 21ea85aafa5c
Create Date: 2026-12-03 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "4c8f1a2b9d60"
down_revision: str | Sequence[str] | None = "21ea85aafa5c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
    op.execute(
        sa.text(
            "UPDATE pair_level SET source = (SELECT assessment.source FROM assessment"
            " WHERE assessment.id = pair_level.assessment_id)"
        )
    )
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("pair_level", schema=None) as batch_op:
        batch_op.drop_column("source")

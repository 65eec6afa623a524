"""Per Land the pairs at each level, now and at every closed month's end: the sums of its
Gemeinden's `gemeinde_level_count` rows, filled from them here, so that a time series by Land
or Bund reads a few rows per month instead of every Gemeinde's (about 1.4 million rows for
thirteen months nationwide).

Revision ID: 51c0c6744027
Revises: 785fc14086e9
Create Date: 2026-12-04 19:03:24.446718
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "51c0c6744027"
down_revision: str | Sequence[str] | None = "785fc14086e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "land_level_count",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("land", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_end", "land", "dimension", "level", name=op.f("pk_land_level_count")
        ),
    )
    op.execute(
        sa.text(
            "INSERT INTO land_level_count (period_end, land, dimension, level, pairs) "
            "SELECT period_end, substr(ars, 1, 2), dimension, level, sum(pairs) "
            "FROM gemeinde_level_count GROUP BY period_end, substr(ars, 1, 2), dimension, level"
        )
    )


def downgrade() -> None:
    op.drop_table("land_level_count")

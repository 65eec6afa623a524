"""Report files made in the background: a comparison report file of a large set, made by a job
and fetched when done.

Revision ID: 813d9e6f6b8d
Revises: 4c8f1a2b9d60
Create Date: 2026-12-03 18:38:24.536779
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "813d9e6f6b8d"
down_revision: str | Sequence[str] | None = "4c8f1a2b9d60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_file",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_report_file_job_id_job"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_report_file")),
    )


def downgrade() -> None:
    op.drop_table("report_file")

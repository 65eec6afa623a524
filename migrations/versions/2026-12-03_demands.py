"""Demands: catalogues as trees of demands, Maßnahmen with uptake per Gemeinde, milestones,
generic links, the append-only event history, and the status vocabulary (seeded as data:
proposed 0, accepted 10, in progress and blocked keep the progress, done 100, dropped leaves
the roll-ups).

Revision ID: 28a7c5f77386
Revises: 5b1d0c7e9a42
Create Date: 2026-12-03 07:56:21.029446
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "28a7c5f77386"
down_revision: str | Sequence[str] | None = "5b1d0c7e9a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


STATUSES = [
    {"key": "proposed", "position": 1, "label": {"de": "vorgeschlagen", "en": "proposed"},
     "default_progress": 0, "counted": True},
    {"key": "accepted", "position": 2, "label": {"de": "angenommen", "en": "accepted"},
     "default_progress": 10, "counted": True},
    {"key": "in_progress", "position": 3, "label": {"de": "in Arbeit", "en": "in progress"},
     "default_progress": None, "counted": True},
    {"key": "blocked", "position": 4, "label": {"de": "blockiert", "en": "blocked"},
     "default_progress": None, "counted": True},
    {"key": "done", "position": 5, "label": {"de": "erledigt", "en": "done"},
     "default_progress": 100, "counted": True},
    {"key": "dropped", "position": 6, "label": {"de": "verworfen", "en": "dropped"},
     "default_progress": None, "counted": False},
]  # fmt: skip


def upgrade() -> None:
    statuses = op.create_table(
        "action_status",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("default_progress", sa.Integer(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_action_status")),
    )
    op.create_table(
        "demand_catalogue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("publisher", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("scope_ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_catalogue")),
        sa.UniqueConstraint("key", name=op.f("uq_demand_catalogue_key")),
    )
    op.create_table(
        "demand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalogue_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("verification", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_demand_weight")),
        sa.ForeignKeyConstraint(
            ["catalogue_id"],
            ["demand_catalogue.id"],
            name=op.f("fk_demand_catalogue_id_demand_catalogue"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["demand.id"], name=op.f("fk_demand_parent_id_demand")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand")),
        sa.UniqueConstraint("key", name=op.f("uq_demand_key")),
    )
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_catalogue_id"), ["catalogue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_demand_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "demand_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demand_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("description", sa.JSON(), nullable=True),
        sa.Column("responsible_level", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("owner_ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("owner_body", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("progress_manual", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "NOT (owner_ars IS NOT NULL AND owner_body IS NOT NULL)",
            name=op.f("ck_demand_action_one_owner"),
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_demand_action_progress")),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_demand_action_weight")),
        sa.ForeignKeyConstraint(
            ["demand_id"], ["demand.id"], name=op.f("fk_demand_action_demand_id_demand")
        ),
        sa.ForeignKeyConstraint(
            ["owner_ars"], ["gemeinde.ars"], name=op.f("fk_demand_action_owner_ars_gemeinde")
        ),
        sa.ForeignKeyConstraint(
            ["status"], ["action_status.key"], name=op.f("fk_demand_action_status_action_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_action")),
        sa.UniqueConstraint("external_id", name=op.f("uq_demand_action_external_id")),
    )
    with op.batch_alter_table("demand_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_action_demand_id"), ["demand_id"], unique=False)

    op.create_table(
        "action_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("done_at", sa.Date(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["demand_action.id"],
            name=op.f("fk_action_milestone_action_id_demand_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_milestone")),
        sa.UniqueConstraint("external_id", name=op.f("uq_action_milestone_external_id")),
    )
    with op.batch_alter_table("action_milestone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_milestone_action_id"), ["action_id"], unique=False
        )

    op.create_table(
        "action_uptake",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_action_uptake_progress")),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["demand_action.id"],
            name=op.f("fk_action_uptake_action_id_demand_action"),
        ),
        sa.ForeignKeyConstraint(
            ["ars"], ["gemeinde.ars"], name=op.f("fk_action_uptake_ars_gemeinde")
        ),
        sa.ForeignKeyConstraint(
            ["status"], ["action_status.key"], name=op.f("fk_action_uptake_status_action_status")
        ),
        sa.PrimaryKeyConstraint("action_id", "ars", name=op.f("pk_action_uptake")),
    )
    op.create_table(
        "demand_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["demand_action.id"],
            name=op.f("fk_demand_event_action_id_demand_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_event")),
    )
    with op.batch_alter_table("demand_event", schema=None) as batch_op:
        batch_op.create_index("ix_demand_event_action_id_id", ["action_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_demand_event_at"), ["at"], unique=False)

    op.create_table(
        "demand_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["demand_action.id"], name=op.f("fk_demand_link_action_id_demand_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_link")),
        sa.UniqueConstraint("action_id", "kind", "target", name="action_kind_target"),
    )
    with op.batch_alter_table("demand_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demand_link_action_id"), ["action_id"], unique=False)

    op.bulk_insert(statuses, STATUSES)


def downgrade() -> None:
    with op.batch_alter_table("demand_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_link_action_id"))

    op.drop_table("demand_link")
    with op.batch_alter_table("demand_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_event_at"))
        batch_op.drop_index("ix_demand_event_action_id_id")

    op.drop_table("demand_event")
    op.drop_table("action_uptake")
    with op.batch_alter_table("action_milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_milestone_action_id"))

    op.drop_table("action_milestone")
    with op.batch_alter_table("demand_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_action_demand_id"))

    op.drop_table("demand_action")
    with op.batch_alter_table("demand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demand_parent_id"))
        batch_op.drop_index(batch_op.f("ix_demand_catalogue_id"))

    op.drop_table("demand")
    op.drop_table("demand_catalogue")
    op.drop_table("action_status")

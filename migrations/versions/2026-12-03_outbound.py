"""Outbound: background jobs (the job table; on PostgreSQL procrastinate's own schema, in a
PostgreSQL schema of its own named `procrastinate`, whose functions are pinned to it), link
probes, webhook subscriptions with their outbox and deliveries.

Revision ID: d2819e060e3c
Revises: 7d3e0a91c4b2
Create Date: 2026-12-03 13:59:22.435130
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "d2819e060e3c"
down_revision: str | Sequence[str] | None = "7d3e0a91c4b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_SCHEMA = "procrastinate"


def statements(script: str) -> list[str]:
    """procrastinate's schema file, one statement at a time (asyncpg runs one per call); a
    statement ends with `;` at a line's end outside a $$-quoted body."""
    found, current, quoted = [], [], False
    for line in script.splitlines():
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            if statement := "\n".join(current).strip():
                found.append(statement)
            current = []
    if tail := "\n".join(current).strip():
        found.append(tail)
    return [s for s in found if not all(x.startswith("--") for x in s.splitlines() if x.strip())]


def create_queue_schema() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(f"CREATE SCHEMA {QUEUE_SCHEMA}")
    previous = bind.exec_driver_sql("SHOW search_path").scalar_one()
    bind.exec_driver_sql(f"SELECT set_config('search_path', '{QUEUE_SCHEMA}', true)")
    for statement in statements(SchemaManager.get_schema()):
        bind.exec_driver_sql(statement)
    bind.execute(sa.text("SELECT set_config('search_path', :path, true)"), {"path": previous})
    # Our transactions call its functions (a job deferred with the change that causes it):
    # they find their tables whatever the caller's search_path.
    bind.exec_driver_sql(
        f"""DO $$ DECLARE f record; BEGIN
        FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{QUEUE_SCHEMA}'
        LOOP EXECUTE 'ALTER FUNCTION ' || f.signature || ' SET search_path = {QUEUE_SCHEMA}';
        END LOOP; END $$"""  # noqa: S608  (constant names)
    )


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("pending_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("pending_key", name=op.f("uq_job_pending_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_job_status_run_at", ["status", "run_at"], unique=False)
    op.create_table(
        "probe_url",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("failures_in_row", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_probed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("broken", sa.Boolean(), nullable=False),
        sa.Column("broken_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_url")),
        sa.UniqueConstraint("url", name=op.f("uq_probe_url_url")),
    )
    with op.batch_alter_table("probe_url", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probe_url_host"), ["host"], unique=False)

    op.create_table(
        "probe_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_id", sa.Integer(), nullable=False),
        sa.Column("probed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("tls_valid", sa.Boolean(), nullable=True),
        sa.Column("tls_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_class", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["url_id"], ["probe_url.id"], name=op.f("fk_probe_result_url_id_probe_url")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_result")),
    )
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.create_index("ix_probe_result_url_id_id", ["url_id", "id"], unique=False)

    op.create_table(
        "probe_link",
        sa.Column("url_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_probe_link_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["url_id"], ["probe_url.id"], name=op.f("fk_probe_link_url_id_probe_url")
        ),
        sa.PrimaryKeyConstraint("url_id", "assessment_id", name=op.f("pk_probe_link")),
    )
    with op.batch_alter_table("probe_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probe_link_ars"), ["ars"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_probe_link_assessment_id"), ["assessment_id"], unique=False
        )

    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint("message_id", name=op.f("uq_webhook_event_message_id")),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("ars_prefix", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_event.id"],
            name=op.f("fk_webhook_delivery_event_id_webhook_event"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "subscription_id", "event_id", name=op.f("uq_webhook_delivery_subscription_id")
        ),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_delivery_subscription_id_status",
            ["subscription_id", "status"],
            unique=False,
        )

    if op.get_bind().dialect.name == "postgresql":
        create_queue_schema()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA {QUEUE_SCHEMA} CASCADE")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_subscription_id_status")

    op.drop_table("webhook_delivery")
    op.drop_table("webhook_subscription")
    op.drop_table("webhook_event")
    with op.batch_alter_table("probe_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probe_link_assessment_id"))
        batch_op.drop_index(batch_op.f("ix_probe_link_ars"))

    op.drop_table("probe_link")
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.drop_index("ix_probe_result_url_id_id")

    op.drop_table("probe_result")
    with op.batch_alter_table("probe_url", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probe_url_host"))

    op.drop_table("probe_url")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_status_run_at")
        batch_op.drop_index(batch_op.f("ix_job_kind"))

    op.drop_table("job")

"""Research: studies with their Gemeinden and Leistungen (research_subject), pseudonymous
participants with consent, observations (erased ones kept as tombstones), findings with their
supporting observations and history (research_event), recommendations with generic links, KPIs;
search indexes: PostgreSQL GIN over to_tsvector('german', …) and pg_trgm over the search keys,
SQLite FTS5 tables with the trigram tokenizer kept in step by triggers.

Revision ID: 21ea85aafa5c
Revises: d2819e060e3c
Create Date: 2026-12-03 14:36:15.442451
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "21ea85aafa5c"
down_revision: str | Sequence[str] | None = "d2819e060e3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# table → (raw text column, its search key column, the public pair or None)
SEARCHED = {
    "research_finding": ("statement", "search_text", ("public_statement", "public_search_text")),
    "research_recommendation": ("text", "search_text", ("public_text", "public_search_text")),
    "research_observation": ("text", "search_text", None),
}


def create_search_indexes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, (raw, key, public) in SEARCHED.items():
            pairs = [(raw, key)] + ([public] if public else [])
            for raw_column, key_column in pairs:
                op.execute(
                    f"CREATE INDEX search_{table}_{raw_column} ON {table} "
                    f"USING gin (to_tsvector('german', coalesce({raw_column}, '')))"
                )
                op.execute(
                    f"CREATE INDEX search_{table}_{key_column}_trgm ON {table} "
                    f"USING gin ({key_column} gin_trgm_ops)"
                )
        return
    for table, (_, key, public) in SEARCHED.items():
        columns = [key] + ([public[1]] if public else [])
        listed = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {table}_fts USING fts5({listed}, content='{table}', "
            "content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN "  # noqa: S608
            f"INSERT INTO {table}_fts(rowid, {listed}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN "  # noqa: S608
            f"INSERT INTO {table}_fts({table}_fts, rowid, {listed}) "
            f"VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_fts_update AFTER UPDATE ON {table} BEGIN "  # noqa: S608
            f"INSERT INTO {table}_fts({table}_fts, rowid, {listed}) "
            f"VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {table}_fts(rowid, {listed}) VALUES (new.id, {new}); END"
        )


def drop_search_indexes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return  # the indexes go with their tables; pg_trgm may serve others
    for table in SEARCHED:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {table}_fts_{event}")
        op.execute(f"DROP TABLE {table}_fts")


def upgrade() -> None:
    op.create_table(
        "research_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_event")),
    )
    with op.batch_alter_table("research_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_research_event_entity_entity_id", ["entity", "entity_id", "id"], unique=False
        )

    op.create_table(
        "research_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("confidence", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("criterion", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("journey_step", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("public_statement", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("redactions", sa.JSON(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("public_search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name=op.f("ck_research_finding_severity")),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["research_finding.id"],
            name=op.f("fk_research_finding_superseded_by_research_finding"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_finding")),
    )
    op.create_table(
        "research_recommendation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("responsible_level", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("public_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("public_search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_recommendation")),
    )
    op.create_table(
        "research_study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("team", sa.JSON(), nullable=False),
        sa.Column("names_to_redact", sa.JSON(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_study")),
    )
    op.create_table(
        "research_subject",
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.PrimaryKeyConstraint(
            "owner", "owner_id", "kind", "key", name=op.f("pk_research_subject")
        ),
    )
    with op.batch_alter_table("research_subject", schema=None) as batch_op:
        batch_op.create_index("ix_research_subject_kind_key", ["kind", "key"], unique=False)

    op.create_table(
        "research_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["research_recommendation.id"],
            name=op.f("fk_research_link_recommendation_id_research_recommendation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_link")),
        sa.UniqueConstraint("recommendation_id", "kind", "key", name="recommendation_kind_key"),
    )
    with op.batch_alter_table("research_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_link_recommendation_id"), ["recommendation_id"], unique=False
        )

    op.create_table(
        "research_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("user_group", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("age_band", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("digital_experience", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("consent_on", sa.Date(), nullable=False),
        sa.Column("consent_notes", sa.Boolean(), nullable=False),
        sa.Column("consent_quotes", sa.Boolean(), nullable=False),
        sa.Column("consent_recordings", sa.Boolean(), nullable=False),
        sa.Column("consent_publication", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["research_study.id"],
            name=op.f("fk_research_participant_study_id_research_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_participant")),
        sa.UniqueConstraint("study_id", "code", name="study_code"),
    )
    with op.batch_alter_table("research_participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_participant_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "research_recommendation_finding",
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["research_finding.id"],
            name=op.f("fk_research_recommendation_finding_finding_id_research_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["research_recommendation.id"],
            name=op.f(
                "fk_research_recommendation_finding_recommendation_id_research_recommendation"
            ),
        ),
        sa.PrimaryKeyConstraint(
            "recommendation_id", "finding_id", name=op.f("pk_research_recommendation_finding")
        ),
    )
    with op.batch_alter_table("research_recommendation_finding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_recommendation_finding_finding_id"),
            ["finding_id"],
            unique=False,
        )

    op.create_table(
        "research_observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("metric_value", sa.Float(), nullable=True),
        sa.Column("metric_unit", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("media_uri", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("media_timecode", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("journey_step", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erasure_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("search_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["research_participant.id"],
            name=op.f("fk_research_observation_participant_id_research_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["research_study.id"],
            name=op.f("fk_research_observation_study_id_research_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_observation")),
        sa.UniqueConstraint("external_id", name=op.f("uq_research_observation_external_id")),
    )
    with op.batch_alter_table("research_observation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_observation_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_research_observation_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "research_finding_observation",
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["research_finding.id"],
            name=op.f("fk_research_finding_observation_finding_id_research_finding"),
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["research_observation.id"],
            name=op.f("fk_research_finding_observation_observation_id_research_observation"),
        ),
        sa.PrimaryKeyConstraint(
            "finding_id", "observation_id", name=op.f("pk_research_finding_observation")
        ),
    )
    with op.batch_alter_table("research_finding_observation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_finding_observation_observation_id"),
            ["observation_id"],
            unique=False,
        )

    op.create_table(
        "research_kpi",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ars"], ["gemeinde.ars"], name=op.f("fk_research_kpi_ars_gemeinde")
        ),
        sa.ForeignKeyConstraint(
            ["ozg_id"], ["ozg_leistung.ozg_id"], name=op.f("fk_research_kpi_ozg_id_ozg_leistung")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["research_study.id"],
            name=op.f("fk_research_kpi_study_id_research_study"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_kpi")),
    )
    with op.batch_alter_table("research_kpi", schema=None) as batch_op:
        batch_op.create_index("ix_research_kpi_ozg_id_ars", ["ozg_id", "ars"], unique=False)

    create_search_indexes()


def downgrade() -> None:
    drop_search_indexes()
    with op.batch_alter_table("research_kpi", schema=None) as batch_op:
        batch_op.drop_index("ix_research_kpi_ozg_id_ars")

    op.drop_table("research_kpi")
    with op.batch_alter_table("research_finding_observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_finding_observation_observation_id"))

    op.drop_table("research_finding_observation")
    with op.batch_alter_table("research_observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_observation_study_id"))
        batch_op.drop_index(batch_op.f("ix_research_observation_participant_id"))

    op.drop_table("research_observation")
    with op.batch_alter_table("research_recommendation_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_recommendation_finding_finding_id"))

    op.drop_table("research_recommendation_finding")
    with op.batch_alter_table("research_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_participant_study_id"))

    op.drop_table("research_participant")
    with op.batch_alter_table("research_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_link_recommendation_id"))

    op.drop_table("research_link")
    with op.batch_alter_table("research_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_research_subject_kind_key")

    op.drop_table("research_subject")
    op.drop_table("research_study")
    op.drop_table("research_recommendation")
    op.drop_table("research_finding")
    with op.batch_alter_table("research_event", schema=None) as batch_op:
        batch_op.drop_index("ix_research_event_entity_entity_id")

    op.drop_table("research_event")

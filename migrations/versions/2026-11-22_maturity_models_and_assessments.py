"""maturity models and assessments

Revision ID: 684fc120d92c
Revises: e47b49b7cbed
Create Date: 2026-11-22 23:45:08.179063
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "684fc120d92c"
down_revision: str | Sequence[str] | None = "e47b49b7cbed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maturity_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maturity_model")),
        sa.UniqueConstraint("key", name=op.f("uq_maturity_model_key")),
    )
    op.create_table(
        "model_criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["maturity_model.id"],
            name=op.f("fk_model_criterion_model_id_maturity_model"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_criterion")),
        sa.UniqueConstraint("model_id", "key", name=op.f("uq_model_criterion_model_id")),
    )
    with op.batch_alter_table("model_criterion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_criterion_model_id"), ["model_id"], unique=False)

    op.create_table(
        "model_level",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("definition", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["maturity_model.id"], name=op.f("fk_model_level_model_id_maturity_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_level")),
        sa.UniqueConstraint("model_id", "level", name=op.f("uq_model_level_model_id")),
    )
    with op.batch_alter_table("model_level", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_level_model_id"), ["model_id"], unique=False)

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("leika_id", sa.Integer(), nullable=True),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("dimension", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("missing_criteria", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("land_wide_portal", sa.Boolean(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assessed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status_comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'validated', 'rejected')",
            name=op.f("ck_assessment_status"),
        ),
        sa.CheckConstraint(
            "(leika_id IS NULL) != (ozg_id IS NULL)", name=op.f("ck_assessment_one_leistung")
        ),
        sa.ForeignKeyConstraint(["ars"], ["gemeinde.ars"], name=op.f("fk_assessment_ars_gemeinde")),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["assessment.id"], name=op.f("fk_assessment_corrects_id_assessment")
        ),
        sa.ForeignKeyConstraint(
            ["leika_id"], ["leika_leistung.id"], name=op.f("fk_assessment_leika_id_leika_leistung")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["maturity_model.id"], name=op.f("fk_assessment_model_id_maturity_model")
        ),
        sa.ForeignKeyConstraint(
            ["ozg_id"], ["ozg_leistung.ozg_id"], name=op.f("fk_assessment_ozg_id_ozg_leistung")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
        sa.UniqueConstraint("external_id", name=op.f("uq_assessment_external_id")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_ars"), ["ars"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessment_leika_id"), ["leika_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assessment_ozg_id"), ["ozg_id"], unique=False)

    seed_models()


def downgrade() -> None:
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_ozg_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_leika_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_ars"))

    op.drop_table("assessment")
    with op.batch_alter_table("model_level", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_level_model_id"))

    op.drop_table("model_level")
    with op.batch_alter_table("model_criterion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_criterion_model_id"))

    op.drop_table("model_criterion")
    op.drop_table("maturity_model")


# Data: the maturity models as shipped (DOMAIN.md §2). Further versions are added as rows, not code.
RGM_SOURCE = "https://leitfaden.ozg-umsetzung.de/pages/worddav/preview.action?fileName=OZG_Reifegrad_Check.xlsx&pageId=4621478"
MODELS = [
    {
        "key": "ozg-rgm-1.1",
        "dimension": "online",
        "name": "OZG-Reifegradmodell",
        "version": "1.1",
        "verified": True,
        "source": RGM_SOURCE,
        "is_default": True,
        "levels": [
            (
                0,
                "Offline",
                "Auf der Behörden-Webseite sind keine Informationen zur Leistung vorhanden.",
            ),
            (
                1,
                "Information",
                "Auf der Behörden-Webseite sind Informationen zur Leistung vorhanden.",
            ),
            (
                2,
                "Formular-Assistent",
                "Es wird eine Funktion angeboten, die beim Ausfüllen des Formulars o. ä. unterstützt. Eine Online-Beantragung ist nicht möglich.",
            ),
            (
                3,
                "Online-Leistung",
                "Die Beantragung der Leistung kann einschließlich aller Nachweise online abgewickelt werden.",
            ),
            (
                4,
                "Online-Transaktion",
                "Die Leistung kann vollständig digital abgewickelt werden. Für Nachweise wird das Once-Only-Prinzip umgesetzt.",
            ),
        ],
        # (key, name, optional = „falls erforderlich“, verified)
        "criteria": [
            ("leistungsbeschreibung", "Leistungsbeschreibung", False, True),
            ("antragsprozess", "Antragsprozesse und Kontextintegration", False, True),
            ("nutzerkonto", "Nutzerkonto (falls erforderlich)", True, True),
            ("authentifizierung", "Authentifizierung (falls erforderlich)", True, True),
            ("bezahlprozess", "Bezahlprozess (falls erforderlich)", True, True),
            ("nachweise", "Nachweise (falls erforderlich)", True, True),
            ("kriterium_7", "Kriterium 7 (Name ungeprüft)", True, False),
            ("kriterium_8", "Kriterium 8 (Name ungeprüft)", True, False),
            ("kriterium_9", "Kriterium 9 (Name ungeprüft)", True, False),
            ("kriterium_10", "Kriterium 10 (Name ungeprüft)", True, False),
        ],
    },
    {
        "key": "ozg-rgm-2.0",
        "dimension": "online",
        "name": "OZG-Reifegradmodell",
        "version": "2.0",
        "verified": False,
        "source": "https://ozg.sachsen-anhalt.de/grundlagen/reifegradmodell",
        "is_default": False,
        "levels": [(0, "Offline", "Keine Online-Beantragung.")]
        + [(n, f"Stufe {n}: Frontend (Name ungeprüft)", "Online-Beantragung") for n in (1, 2, 3)]
        + [
            (
                n,
                f"Stufe {n}: Prozessorientierung und Datenzentrierung (Name ungeprüft)",
                "Interne digitale Bearbeitung",
            )
            for n in (4, 5, 6)
        ]
        + [(7, "Stufe 7: Ende-zu-Ende (Name ungeprüft)", "Vollständig Ende-zu-Ende digital")],
        "criteria": [
            (f"kriterium_{n}", f"Kriterium {n} (Name ungeprüft)", False, False)
            for n in range(1, 14)
        ],
    },
    {
        "key": "backoffice-b",
        "dimension": "backoffice",
        "name": "Back-Office-Automatisierung B0-B6 (eigene Skala)",
        "version": "1",
        "verified": False,
        "source": None,
        "is_default": True,
        "levels": [
            (0, "B0 Papier", "Die Bearbeitung im Back-Office geschieht auf Papier."),
            (
                1,
                "B1 Digitaler Eingang",
                "Anträge kommen digital an und werden ins Fachverfahren abgetippt.",
            ),
            (
                2,
                "B2 Fachverfahrensanbindung",
                "Anträge gehen automatisch ins Fachverfahren (FIT-Connect/XÖV).",
            ),
            (
                3,
                "B3 Digitale Sachbearbeitung",
                "Bearbeitung mit E-Akte; Bescheid digital über Rückkanal/Postfach.",
            ),
            (4, "B4 Once-Only", "Nachweise werden aus Registern abgerufen (RegMo C/D)."),
            (
                5,
                "B5 Entscheidungsunterstützung",
                "Die Entscheidung wird teilweise automatisiert vorbereitet.",
            ),
            (
                6,
                "B6 Vollautomatischer Verwaltungsakt",
                "Vollständig automatisiert nach § 35a VwVfG (kein Ermessen, Rechtsgrundlage).",
            ),
        ],
        "criteria": [
            ("digitaler_eingang", "Digitaler Eingang", False, False),
            ("fachverfahren", "Anbindung an das Fachverfahren", False, False),
            ("e_akte", "E-Akte und digitaler Bescheid", False, False),
            ("once_only", "Once-Only-Nachweisabruf (falls erforderlich)", True, False),
            ("automatisierung", "Automatisierte Entscheidung (falls erforderlich)", True, False),
        ],
    },
]


def seed_models() -> None:
    models = sa.table(
        "maturity_model",
        sa.column("id", sa.Integer),
        sa.column("key", sa.String),
        sa.column("dimension", sa.String),
        sa.column("name", sa.String),
        sa.column("version", sa.String),
        sa.column("verified", sa.Boolean),
        sa.column("source", sa.String),
        sa.column("is_default", sa.Boolean),
    )
    levels = sa.table(
        "model_level",
        sa.column("model_id", sa.Integer),
        sa.column("level", sa.Integer),
        sa.column("name", sa.String),
        sa.column("definition", sa.String),
    )
    criteria = sa.table(
        "model_criterion",
        sa.column("model_id", sa.Integer),
        sa.column("key", sa.String),
        sa.column("position", sa.Integer),
        sa.column("name", sa.String),
        sa.column("optional", sa.Boolean),
        sa.column("verified", sa.Boolean),
    )
    for model_id, model in enumerate(MODELS, start=1):
        row = {
            name: model[name]
            for name in ("key", "dimension", "name", "version", "verified", "source", "is_default")
        }
        op.bulk_insert(models, [{"id": model_id, **row}])
        op.bulk_insert(
            levels,
            [
                {"model_id": model_id, "level": n, "name": name, "definition": text}
                for n, name, text in model["levels"]
            ],
        )
        op.bulk_insert(
            criteria,
            [
                {
                    "model_id": model_id,
                    "key": key,
                    "position": position,
                    "name": name,
                    "optional": optional,
                    "verified": verified,
                }
                for position, (key, name, optional, verified) in enumerate(
                    model["criteria"], start=1
                )
            ],
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval('maturity_model_id_seq', (SELECT max(id) FROM maturity_model))")

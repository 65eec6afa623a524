"""catalog and regions

Revision ID: 7a52c78695e9
Revises:
Create Date: 2026-11-22 22:39:41.938925
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7a52c78695e9"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "land",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sitz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_land")),
    )
    op.create_table(
        "themenfeld",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themenfeld")),
    )
    op.create_table(
        "lebenslage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("themenfeld_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["themenfeld_id"],
            ["themenfeld.id"],
            name=op.f("fk_lebenslage_themenfeld_id_themenfeld"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lebenslage")),
    )
    with op.batch_alter_table("lebenslage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lebenslage_themenfeld_id"), ["themenfeld_id"], unique=False
        )

    op.create_table(
        "regierungsbezirk",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("land_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sitz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["land_code"], ["land.code"], name=op.f("fk_regierungsbezirk_land_code_land")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regierungsbezirk")),
    )
    with op.batch_alter_table("regierungsbezirk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_regierungsbezirk_land_code"), ["land_code"], unique=False
        )

    op.create_table(
        "region",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("land_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sitz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["land_code"], ["land.code"], name=op.f("fk_region_land_code_land")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_land_code"), ["land_code"], unique=False)

    op.create_table(
        "kreis",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("land_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("regbez_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sitz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("typ_code", sa.Integer(), nullable=False),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["land_code"], ["land.code"], name=op.f("fk_kreis_land_code_land")),
        sa.ForeignKeyConstraint(
            ["regbez_code"],
            ["regierungsbezirk.code"],
            name=op.f("fk_kreis_regbez_code_regierungsbezirk"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_kreis")),
    )
    with op.batch_alter_table("kreis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kreis_land_code"), ["land_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_kreis_regbez_code"), ["regbez_code"], unique=False)

    op.create_table(
        "ozg_leistung",
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("search_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lebenslage_id", sa.Integer(), nullable=False),
        sa.Column("themenfeld_id", sa.Integer(), nullable=False),
        sa.Column("kdn_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lebenslage_id"],
            ["lebenslage.id"],
            name=op.f("fk_ozg_leistung_lebenslage_id_lebenslage"),
        ),
        sa.ForeignKeyConstraint(
            ["themenfeld_id"],
            ["themenfeld.id"],
            name=op.f("fk_ozg_leistung_themenfeld_id_themenfeld"),
        ),
        sa.PrimaryKeyConstraint("ozg_id", name=op.f("pk_ozg_leistung")),
    )
    with op.batch_alter_table("ozg_leistung", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ozg_leistung_lebenslage_id"), ["lebenslage_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ozg_leistung_search_name"), ["search_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ozg_leistung_themenfeld_id"), ["themenfeld_id"], unique=False
        )

    op.create_table(
        "gemeindeverband",
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("kreis_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("land_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sitz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("typ_code", sa.Integer(), nullable=False),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["kreis_code"], ["kreis.code"], name=op.f("fk_gemeindeverband_kreis_code_kreis")
        ),
        sa.ForeignKeyConstraint(
            ["land_code"], ["land.code"], name=op.f("fk_gemeindeverband_land_code_land")
        ),
        sa.PrimaryKeyConstraint("ars", name=op.f("pk_gemeindeverband")),
    )
    with op.batch_alter_table("gemeindeverband", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gemeindeverband_kreis_code"), ["kreis_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gemeindeverband_land_code"), ["land_code"], unique=False
        )

    op.create_table(
        "leika_leistung",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kdn_id", sa.Integer(), nullable=False),
        sa.Column("leika_key", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("search_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("leika_typ", sa.JSON(), nullable=False),
        sa.Column("ozg_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gesetz_kurz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gesetze", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rechtsgrundlage", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("sdg1_relevant", sa.Boolean(), nullable=False),
        sa.Column("sdg2_relevant", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ozg_id"], ["ozg_leistung.ozg_id"], name=op.f("fk_leika_leistung_ozg_id_ozg_leistung")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leika_leistung")),
        sa.UniqueConstraint("kdn_id", name=op.f("uq_leika_leistung_kdn_id")),
        sa.UniqueConstraint("leika_key", name=op.f("uq_leika_leistung_leika_key")),
    )
    with op.batch_alter_table("leika_leistung", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leika_leistung_ozg_id"), ["ozg_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_leika_leistung_search_name"), ["search_name"], unique=False
        )

    op.create_table(
        "gemeinde",
        sa.Column("ars", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("ags", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("search_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("typ_code", sa.Integer(), nullable=False),
        sa.Column("land_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("regbez_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("kreis_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("verband_ars", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("flaeche_ha", sa.Integer(), nullable=False),
        sa.Column("bevoelkerung", sa.Integer(), nullable=False),
        sa.Column("bevoelkerung_maennlich", sa.Integer(), nullable=False),
        sa.Column("plz", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("plz_eindeutig", sa.Boolean(), nullable=False),
        sa.Column("finanzamtsbezirk", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("oberlandesgericht", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("landgericht", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("amtsgericht", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("arbeitsagentur", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("btwk_von", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("btwk_bis", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("gebietsstand", sa.Date(), nullable=False),
        sa.Column("invalid_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["kreis_code"], ["kreis.code"], name=op.f("fk_gemeinde_kreis_code_kreis")
        ),
        sa.ForeignKeyConstraint(
            ["land_code"], ["land.code"], name=op.f("fk_gemeinde_land_code_land")
        ),
        sa.ForeignKeyConstraint(
            ["regbez_code"],
            ["regierungsbezirk.code"],
            name=op.f("fk_gemeinde_regbez_code_regierungsbezirk"),
        ),
        sa.ForeignKeyConstraint(
            ["verband_ars"],
            ["gemeindeverband.ars"],
            name=op.f("fk_gemeinde_verband_ars_gemeindeverband"),
        ),
        sa.PrimaryKeyConstraint("ars", name=op.f("pk_gemeinde")),
        sa.UniqueConstraint("ags", name=op.f("uq_gemeinde_ags")),
    )
    with op.batch_alter_table("gemeinde", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gemeinde_bevoelkerung"), ["bevoelkerung"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gemeinde_kreis_code"), ["kreis_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_gemeinde_land_code"), ["land_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_gemeinde_search_name"), ["search_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_gemeinde_typ_code"), ["typ_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_gemeinde_verband_ars"), ["verband_ars"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gemeinde", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gemeinde_verband_ars"))
        batch_op.drop_index(batch_op.f("ix_gemeinde_typ_code"))
        batch_op.drop_index(batch_op.f("ix_gemeinde_search_name"))
        batch_op.drop_index(batch_op.f("ix_gemeinde_land_code"))
        batch_op.drop_index(batch_op.f("ix_gemeinde_kreis_code"))
        batch_op.drop_index(batch_op.f("ix_gemeinde_bevoelkerung"))

    op.drop_table("gemeinde")
    with op.batch_alter_table("leika_leistung", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leika_leistung_search_name"))
        batch_op.drop_index(batch_op.f("ix_leika_leistung_ozg_id"))

    op.drop_table("leika_leistung")
    with op.batch_alter_table("gemeindeverband", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gemeindeverband_land_code"))
        batch_op.drop_index(batch_op.f("ix_gemeindeverband_kreis_code"))

    op.drop_table("gemeindeverband")
    with op.batch_alter_table("ozg_leistung", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ozg_leistung_themenfeld_id"))
        batch_op.drop_index(batch_op.f("ix_ozg_leistung_search_name"))
        batch_op.drop_index(batch_op.f("ix_ozg_leistung_lebenslage_id"))

    op.drop_table("ozg_leistung")
    with op.batch_alter_table("kreis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kreis_regbez_code"))
        batch_op.drop_index(batch_op.f("ix_kreis_land_code"))

    op.drop_table("kreis")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_land_code"))

    op.drop_table("region")
    with op.batch_alter_table("regierungsbezirk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regierungsbezirk_land_code"))

    op.drop_table("regierungsbezirk")
    with op.batch_alter_table("lebenslage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lebenslage_themenfeld_id"))

    op.drop_table("lebenslage")
    op.drop_table("themenfeld")
    op.drop_table("land")

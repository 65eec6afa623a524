"""Registry of every table, for Alembic and tests; an edge module importing every feature."""

from tracker.access.models import ApiToken, AuditEntry, RoleGrant, User
from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import TableModel
from tracker.maturity.models import (
    ApplicabilityOverride,
    Assessment,
    CountPeriod,
    GemeindeLevelCount,
    LeistungKreisCount,
    LeistungLandCount,
    LevelMapping,
    MaturityModel,
    ModelCriterion,
    ModelLevel,
    MunicipalLeikaType,
    PairLevel,
    PairRevision,
)
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Regierungsbezirk, Region

__all__ = [
    "ApiToken",
    "ApplicabilityOverride",
    "Assessment",
    "AuditEntry",
    "CountPeriod",
    "Gemeinde",
    "GemeindeLevelCount",
    "Gemeindeverband",
    "Kreis",
    "Land",
    "Lebenslage",
    "LeikaLeistung",
    "LeistungKreisCount",
    "LeistungLandCount",
    "LevelMapping",
    "MaturityModel",
    "ModelCriterion",
    "ModelLevel",
    "MunicipalLeikaType",
    "OzgLeistung",
    "PairLevel",
    "PairRevision",
    "Regierungsbezirk",
    "Region",
    "RoleGrant",
    "TableModel",
    "Themenfeld",
    "User",
]

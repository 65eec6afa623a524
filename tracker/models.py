"""Registry of every table, for Alembic and tests; an edge module importing every feature."""

from tracker.access.models import ApiToken, AuditEntry, RoleGrant, User
from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import TableModel
from tracker.demands.models import (
    ActionMilestone,
    ActionStatus,
    ActionUptake,
    Demand,
    DemandAction,
    DemandCatalogue,
    DemandEvent,
    DemandLink,
)
from tracker.jobs.models import Job
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
from tracker.probes.models import ProbeLink, ProbeResult, ProbeUrl
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Regierungsbezirk, Region
from tracker.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "ActionMilestone",
    "ActionStatus",
    "ActionUptake",
    "ApiToken",
    "ApplicabilityOverride",
    "Assessment",
    "AuditEntry",
    "CountPeriod",
    "Demand",
    "DemandAction",
    "DemandCatalogue",
    "DemandEvent",
    "DemandLink",
    "Gemeinde",
    "GemeindeLevelCount",
    "Gemeindeverband",
    "Job",
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
    "ProbeLink",
    "ProbeResult",
    "ProbeUrl",
    "Regierungsbezirk",
    "Region",
    "RoleGrant",
    "TableModel",
    "Themenfeld",
    "User",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]

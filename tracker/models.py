"""Registry of every table, for Alembic and tests; an edge module importing every feature."""

from tracker.catalog.models import Lebenslage, LeikaLeistung, OzgLeistung, Themenfeld
from tracker.db import TableModel
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Regierungsbezirk, Region

__all__ = [
    "Gemeinde",
    "Gemeindeverband",
    "Kreis",
    "Land",
    "Lebenslage",
    "LeikaLeistung",
    "OzgLeistung",
    "Regierungsbezirk",
    "Region",
    "TableModel",
    "Themenfeld",
]

"""Registry of every table, for Alembic and tests. An edge module: imports every feature's models."""

from tracker.catalog.models import LeikaLeistung, Lebenslage, OzgLeistung, Themenfeld
from tracker.db import TableModel
from tracker.regions.models import Gemeinde, Gemeindeverband, Kreis, Land, Region, Regierungsbezirk

__all__ = [
    "Gemeinde",
    "Gemeindeverband",
    "Kreis",
    "Land",
    "LeikaLeistung",
    "Lebenslage",
    "OzgLeistung",
    "Region",
    "Regierungsbezirk",
    "TableModel",
    "Themenfeld",
]

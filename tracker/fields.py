"""Strict shared types for API shapes and import rows."""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

from litestar.params import PathParameter
from pydantic import BeforeValidator, StringConstraints

from tracker.errors import BadRequest


def _json_int(value: object) -> object:
    """Litestar validates leniently (true → 1, "2" → 2); a JSON integer must be one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_int)]

# PostgreSQL text rejects NUL; every stored string goes through this.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Ars = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Ags = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
LeikaKey = Annotated[str, StringConstraints(pattern=r"^\d{14}$")]

# Row ids in paths: PostgreSQL INTEGER is 32-bit, a larger number would be a 500.
RowId = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]

ARS_PATTERN = r"^\d{12}$"
AGS_PATTERN = r"^\d{8}$"
ARS_OR_AGS_PATTERN = r"^(\d{8}|\d{12})$"
LEIKA_KEY_PATTERN = r"^\d{14}$"
# An area by its ARS prefix: Land (2 digits), Kreis (5), Gemeindeverband (9), Gemeinde (12).
AREA_PATTERN = r"^\d{2}(\d{3}(\d{4}(\d{3})?)?)?$"
# The OZG-ID format is not officially confirmed (DOMAIN.md 1.3): all known ones are 5-digit numbers.
OZG_ID_PATTERN = r"^[0-9A-Za-z]{1,20}$"

# Litestar parses query datetimes laxly (a bare number becomes a timestamp); moments in query
# strings are ISO 8601 text matching this pattern, read by `parse_moment`.
ISO_MOMENT_PATTERN = (
    r"^[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-4]):?[0-5]\d)?)?$"
)
_MOMENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$"
)


def parse_moment(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time; without a zone it is UTC. A day past the month's end rolls
    into the next month (2023-02-29 is 1 March), so every value the pattern admits is a moment."""
    if value is None:
        return None
    match = _MOMENT.match(value)
    if match is None:
        raise BadRequest(f"{value!r} is not an ISO 8601 date or date-time.")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    moment = datetime(int(year), int(month), 1, tzinfo=timezone(offset)) + timedelta(
        days=int(day) - 1,
        hours=int(hour or 0),
        minutes=int(minute or 0),
        seconds=int(second or 0),
        microseconds=int((fraction or "0").ljust(6, "0")),
    )
    return moment.astimezone(UTC)

"""Strict shared types for API shapes and import rows."""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any

from litestar.params import PathParameter
from pydantic import AfterValidator, BeforeValidator, StringConstraints

from tracker.db import as_utc
from tracker.errors import BadRequest, InvalidInput


def _json_int(value: object) -> object:
    """Litestar validates leniently (true → 1, "2" → 2); a JSON integer must be one. As in
    JSON Schema, 112.0 is the integer 112."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_int)]


def _json_bool(value: object) -> object:
    """Litestar validates leniently ("no" → False, 1 → True); a JSON boolean must be one.
    (Pydantic's StrictBool does not help: Litestar's strict=False overrides it.)"""
    if not isinstance(value, bool):
        raise ValueError("must be a JSON boolean, true or false")
    return value


JsonBool = Annotated[bool, BeforeValidator(_json_bool)]


def _json_float(value: object) -> object:
    """A JSON number must be one: no boolean, no numeric text (Litestar's lax "2" → 2.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return float(value)


JsonFloat = Annotated[float, BeforeValidator(_json_float)]


def _date_text(value: object) -> object:
    """A calendar day as JSON carries it: `YYYY-MM-DD` text (Pydantic would take a number)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is None:
        raise ValueError("must be a date as YYYY-MM-DD text")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_text)]


def _plan_day(value: date) -> date:
    if not date(1990, 1, 1) <= value <= date(2100, 12, 31):
        raise ValueError("a day of a plan lies between 1990-01-01 and 2100-12-31")
    return value


# a day of a plan (a Maßnahme's start or due day, a milestone, a study's period): from the
# E-Government-Gesetz's time to the end of the century. A validator, not a bound: a date bound
# would become an OpenAPI `maximum` that is no number.
PlanDate = Annotated[IsoDate, AfterValidator(_plan_day)]


def ascii_digits(text: str) -> bool:
    """Only 0-9: `str.isdigit` and `\\d` also take Arabic-Indic and other Unicode digits."""
    return text.isascii() and text.isdigit()


# When something happened (an assessment, a status change): not before the floor, not after now
# plus a little clock skew. A date far in the future would stay "current" for ever.
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def check_moment(value: datetime, *, now: datetime | None = None) -> datetime:
    """The moment in UTC (naive means UTC) if it lies between the floor and now; else ValueError."""
    moment = as_utc(value)
    latest = (now or datetime.now(UTC)) + CLOCK_SKEW
    if moment < EARLIEST_MOMENT:
        raise ValueError(f"lies before {EARLIEST_MOMENT.date().isoformat()}")
    if moment > latest:
        raise ValueError("lies in the future")
    return moment.astimezone(UTC)


def _iso_text(value: Any) -> Any:
    """JSON has no date type: a moment is ISO 8601 text (Pydantic would also take a number)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _MOMENT.match(value.strip()) is None:
        raise ValueError("must be an ISO 8601 date or date-time text")
    return value


# A moment as JSON carries it: ISO 8601 text (naive means UTC). Whether it lies between
# EARLIEST_MOMENT and now is `check_moment`'s, called by the action (422): the spec cannot state
# "not in the future", so a 400 there would refuse a request that the spec calls valid.
IsoMoment = Annotated[datetime, BeforeValidator(_iso_text)]

# PostgreSQL text rejects NUL; every stored string goes through this. A length goes into the
# same StringConstraints (`Annotated[str, StringConstraints(pattern=NO_NUL, max_length=…)]`):
# Litestar documents only the last StringConstraints of a type, so a second one hides the pattern.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
Ars = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Ags = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
LeikaKey = Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")]

# Row ids in paths: PostgreSQL INTEGER is 32-bit, a larger number would be a 500.
RowId = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]

ARS_LENGTH = 12  # digits of an ARS (Land 2, Regierungsbezirk 1, Kreis 2, Verband 4, Gemeinde 3)
ARS_PATTERN = r"^[0-9]{12}$"
AGS_PATTERN = r"^[0-9]{8}$"
ARS_OR_AGS_PATTERN = r"^([0-9]{8}|[0-9]{12})$"
LEIKA_KEY_PATTERN = r"^[0-9]{14}$"
# An area by its ARS prefix: Land (2 digits), Kreis (5), Gemeindeverband (9), Gemeinde (12).
AREA_PATTERN = r"^[0-9]{2}([0-9]{3}([0-9]{4}([0-9]{3})?)?)?$"
# The OZG-ID format is not officially confirmed (DOMAIN.md 1.3): all known ones are 5-digit numbers.
OZG_ID_PATTERN = r"^[0-9A-Za-z]{1,20}$"

# Litestar parses query datetimes laxly (a bare number becomes a timestamp); moments in query
# strings are ISO 8601 text matching this pattern, read by `parse_moment`.
ISO_MOMENT_PATTERN = (
    r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):?[0-5][0-9])?)?$"
)
_MOMENT = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
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


# the forms' German labels
FIELD_LABELS = {"at": "Stand", "since": "Vergleichsdatum", "until": "Bis"}


def _moment_error(field: str, text: str, why: str, warum: str) -> InvalidInput:
    label = FIELD_LABELS.get(field, field)
    return InvalidInput(f"{field}: {text!r} {why}", german=f"{label}: „{text}“ {warum}")


def report_moment(text: str | None, field: str = "at") -> datetime | None:
    """The `at` of every roll-up and report (one rule): a day means its end (UTC), so that
    2026-11-30 reads November's counts. A day the calendar lacks (2024-02-30) is refused, not
    rolled into March; so is a day after today (a report is of what is known)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if not re.match(ISO_MOMENT_PATTERN, text):
        raise BadRequest(
            f"{field}: {text!r} is not an ISO 8601 date or date-time (2026-11-30).",
            german=f"{FIELD_LABELS.get(field, field)}: „{text}“ ist kein Datum (z. B. 2026-11-30).",
        )
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        raise _moment_error(
            field, text, "is no day of the calendar", "ist kein Tag des Kalenders"
        ) from None
    moment = parse_moment(text)
    if moment is None:  # not reached: the text is present
        return None
    if len(text) == len("2026-11-30"):
        moment += timedelta(days=1) - timedelta(microseconds=1)
    if moment.astimezone(UTC).date() > datetime.now(UTC).date():
        raise _moment_error(field, text, "lies in the future", "liegt in der Zukunft")
    return moment


def utc_moment(value: datetime) -> datetime:
    """In UTC with its offset: SQLite hands back naive datetimes (stored in UTC), and RFC 3339
    `date-time` in the spec needs the offset."""
    return as_utc(value).astimezone(UTC)


# Every datetime a response schema returns (tests/test_schemas.py checks that none is plain).
UtcDatetime = Annotated[datetime, AfterValidator(utc_moment)]


# A Gemeinde's ARS as a path parameter: the one annotation every route and page takes it by.
GemeindeArs = Annotated[str, PathParameter(pattern=ARS_PATTERN)]
# A page's Gemeinde: an AGS (8 digits) too, redirected to the page of its ARS.
GemeindeKey = Annotated[str, PathParameter(pattern=ARS_OR_AGS_PATTERN)]

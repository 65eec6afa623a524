"""Bulk import of observations from a survey or interview-notes CSV or XLSX (its first sheet),
in one schema:

    external_id, participant, kind, text, metric_value, metric_unit, media_uri,
    media_timecode, journey_step, tags, recorded_on

`external_id` is required and makes the import idempotent (a row whose id is stored is
unchanged); `participant` is a participant's code in the study; `tags` are separated by `;`;
`recorded_on` is YYYY-MM-DD (default today; in XLSX a date cell too). Any bad row rejects the
whole file, with `file:row: why` for each; nothing is written then."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.errors import TrackerError
from tracker.importing import ImportRejected, ImportResult, RowError, describe
from tracker.research import actions, queries
from tracker.research.schemas import ObservationCreate

COLUMNS = (
    "external_id", "participant", "kind", "text", "metric_value", "metric_unit", "media_uri",
    "media_timecode", "journey_step", "tags", "recorded_on",
)  # fmt: skip
REQUIRED = ("external_id", "kind")
# a workbook's date cell, as the XLSX reader gives it: the day at midnight
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00:00(\+00:00)?$")


def _fields(row: dict[str, str], study_id: int, participant_id: int | None) -> dict[str, Any]:
    cells = {key: value.strip() for key, value in row.items() if value and value.strip()}
    fields: dict[str, Any] = {
        key: cells[key]
        for key in ("external_id", "kind", "text", "metric_unit", "media_uri", "media_timecode",
                    "journey_step", "recorded_on")
        if key in cells
    }  # fmt: skip
    fields |= {"study_id": study_id, "participant_id": participant_id}
    if "recorded_on" in fields and (day := _MIDNIGHT.match(fields["recorded_on"])):
        fields["recorded_on"] = day.group(1)
    if "metric_value" in cells:
        try:
            fields["metric_value"] = float(cells["metric_value"].replace(",", "."))
        except ValueError:
            fields["metric_value"] = cells["metric_value"]  # the schema names it
    if "tags" in cells:
        fields["tags"] = [tag.strip() for tag in cells["tags"].split(";") if tag.strip()]
    return fields


async def import_observations(
    session: AsyncSession, rows: Iterable[tuple[int, dict[str, str]]], source: str,
    *, study_id: int, actor: actions.Actor, today: date,
) -> ImportResult:  # fmt: skip
    await actions.study_in_reach(session, study_id, actor)
    result = ImportResult(source=source)
    errors: list[RowError] = []
    seen: set[str] = set()
    for line, row in rows:
        if "__extra__" in row:
            errors.append(RowError(source, line, row["__extra__"]))
            continue
        code = (row.get("participant") or "").strip()
        participant = await queries.find_participant(session, study_id, code) if code else None
        if code and participant is None:
            errors.append(RowError(source, line, f"participant: no {code} in study {study_id}"))
            continue
        try:
            data = ObservationCreate.model_validate(
                _fields(row, study_id, None if participant is None else participant.id)
            )
        except ValidationError as exc:
            errors.append(RowError(source, line, describe(exc)))
            continue
        assert data.external_id is not None  # noqa: S101  (a required column, checked)
        if data.external_id in seen:
            errors.append(RowError(source, line, f"external_id {data.external_id} repeats"))
            continue
        seen.add(data.external_id)
        stored = await queries.observation_by_external_id(session, data.external_id)
        if stored is not None:
            if stored.study_id != study_id:
                errors.append(RowError(source, line, "external_id belongs to another study"))
            else:
                result.unchanged += 1
            continue
        try:
            await actions.record_observation(session, data, actor=actor, today=today)
        except TrackerError as exc:
            errors.append(RowError(source, line, exc.detail))
            continue
        result.inserted += 1
    if errors:
        raise ImportRejected(errors)
    return result

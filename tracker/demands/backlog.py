"""A catalogue's backlog as one table, both ways: CSV, CSV for German Excel and XLSX.

One row per record, `record` saying which: `demand` (its roll-up; export only), `action` (a
Maßnahme), `uptake` (a Gemeinde's uptake of a Maßnahme) and `milestone`. Maßnahmen, uptake and
milestones import from the same columns: all or nothing per file, idempotent on the external id
(`action`: the Maßnahme's, `tracker:<id>` for one without; `external_id`: the milestone's), a
row that breaks a rule rejecting the file with `file:line: why`. The writes go through the
feature's actions, so scopes, history and audit are those of the API.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import tabular
from tracker.access import actions as access_actions
from tracker.db import run
from tracker.demands import actions, queries
from tracker.demands.models import ActionMilestone, ActionUptake, DemandAction, DemandCatalogue
from tracker.demands.schemas import (
    ActionCreate,
    ActionPatch,
    MilestoneCreate,
    MilestonePatch,
    StatusWrite,
    UptakeWrite,
)
from tracker.errors import Forbidden, TrackerError
from tracker.importing import (
    ImportRejected,
    ImportResult,
    ProgressFn,
    RecordChange,
    RowError,
    csv_rows,
    describe,
)

COLUMNS = (
    "record", "catalogue", "demand", "action", "external_id", "ars", "title_de", "title_en",
    "responsible_level", "owner_ars", "owner_body", "status", "progress", "progress_manual",
    "weight", "start_date", "due_date", "done_at", "source", "comment",
)  # fmt: skip
REQUIRED = ("record", "action")
OWN_PREFIX = "tracker:"  # the external id of a Maßnahme that has none
RECORDS = ("demand", "action", "uptake", "milestone")
TRUE = ("1", "true", "ja", "yes", "wahr")
FALSE = ("", "0", "false", "nein", "no", "falsch")


def action_key(action: DemandAction) -> str:
    return action.external_id or f"{OWN_PREFIX}{action.id}"


# --- export --------------------------------------------------------------------------------------


async def backlog_rows(
    session: AsyncSession, catalogue: DemandCatalogue, *, on: date
) -> list[list[Any]]:
    """Every demand of the catalogue with its roll-up, each Maßnahme after its demand, then its
    uptake and milestones; in the order of the tree."""
    assert catalogue.id is not None  # noqa: S101  (stored)
    tree = await queries.demand_tree(session, catalogue.id, on=on)
    ids = [i for node in tree.by_id.values() for i in node.action_ids]
    found = {
        action.id: action
        for action in (
            await run(session, select(DemandAction).where(col(DemandAction.id).in_(ids)))
        ).scalars()
    }
    uptake: dict[int, list[ActionUptake]] = {}
    statement = select(ActionUptake).where(col(ActionUptake.action_id).in_(ids))
    for row in (await run(session, statement.order_by(col(ActionUptake.ars)))).scalars():
        uptake.setdefault(row.action_id, []).append(row)
    milestones = await queries.milestones_of(session, ids)
    lines: list[list[Any]] = []

    def line(**cells: Any) -> list[Any]:
        return [cells.get(name) for name in COLUMNS]

    def walk(node: queries.Node) -> None:
        demand = node.demand
        lines.append(line(
            record="demand", catalogue=catalogue.key, demand=demand.key,
            title_de=demand.title.get("de"), title_en=demand.title.get("en") or None,
            progress=None if node.progress is None else round(node.progress, 2),
            weight=demand.weight, source=demand.source,
        ))  # fmt: skip
        for action_id in node.action_ids:
            action = found[action_id]
            key = action_key(action)
            lines.append(line(
                record="action", catalogue=catalogue.key, demand=demand.key, action=key,
                title_de=action.title.get("de"), title_en=action.title.get("en") or None,
                responsible_level=action.responsible_level, owner_ars=action.owner_ars,
                owner_body=action.owner_body, status=action.status, progress=action.progress,
                progress_manual=action.progress_manual, weight=action.weight,
                start_date=action.start_date, due_date=action.due_date, source=action.source,
            ))  # fmt: skip
            for taken in uptake.get(action_id, []):
                lines.append(line(
                    record="uptake", catalogue=catalogue.key, demand=demand.key, action=key,
                    ars=taken.ars, status=taken.status, progress=taken.progress,
                    comment=taken.comment,
                ))  # fmt: skip
            for milestone in milestones.get(action_id, []):
                lines.append(line(
                    record="milestone", catalogue=catalogue.key, demand=demand.key, action=key,
                    external_id=milestone.external_id or f"{OWN_PREFIX}milestone:{milestone.id}",
                    title_de=milestone.title.get("de"),
                    title_en=milestone.title.get("en") or None, due_date=milestone.due_date,
                    done_at=milestone.done_at, source=milestone.source,
                ))  # fmt: skip
        for child in node.children:
            walk(child)

    for root in tree.roots:
        walk(root)
    return lines


# --- import --------------------------------------------------------------------------------------


class BacklogRow(BaseModel):
    """A row as text; each record reads the columns it needs."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    record: str
    catalogue: str = ""
    demand: str = ""
    action: str
    external_id: str = ""
    ars: str = ""
    title_de: str = ""
    title_en: str = ""
    responsible_level: str = ""
    owner_ars: str = ""
    owner_body: str = ""
    status: str = ""
    progress: str = ""
    progress_manual: str = ""
    weight: str = ""
    start_date: str = ""
    due_date: str = ""
    done_at: str = ""
    source: str = ""
    comment: str = ""


def rows_of(
    data: bytes, source: str, *, max_rows: int | None = None,
    max_unpacked_bytes: int = tabular.OPERATOR_XLSX_BYTES,
) -> Iterator[tuple[int, dict[str, str]]]:  # fmt: skip
    """An XLSX workbook (by its zip signature) or a UTF-8 CSV (`,` or `;`, a BOM dropped); the
    quote the tracker's exports put before formula-like text is taken off again."""
    if data.startswith(b"PK\x03\x04"):
        found = tabular.xlsx_rows(
            io.BytesIO(data), source, REQUIRED, max_rows=max_rows,
            max_unpacked_bytes=max_unpacked_bytes,
        )  # fmt: skip
    else:
        found = csv_rows(io.BytesIO(data), source, REQUIRED, semicolons=True)
    for line, row in found:
        yield line, {key: tabular.read_cell(value) for key, value in row.items()}


def file_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    return rows_of(path.read_bytes(), path.name)


def _none(text: str) -> str | None:
    return text or None


def _int(name: str, text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise ValueError(f"{name}: {text!r} is no whole number")
    return int(text)


def _float(name: str, text: str) -> float | None:
    """A figure as written in either dialect: `1,5` (German Excel) is 1.5."""
    if not text:
        return None
    written = text.replace(",", ".") if "," in text and "." not in text else text
    try:
        return float(written)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is no number") from None


def _day(text: str) -> str | None:
    """A day as text; an XLSX date cell reads as midnight of it."""
    if len(text) > 10 and text[10] == "T" and text[11:19] == "00:00:00":
        return text[:10]
    return text or None


def _flag(text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise ValueError(f"progress_manual: {text!r} is no yes/no (true, false, ja, nein, 1, 0)")


def _title(row: BacklogRow) -> dict[str, str]:
    return {"de": row.title_de, "en": row.title_en}


class Importer:
    """One file's rows, in order, through the feature's actions."""

    def __init__(
        self, session: AsyncSession, source: str, catalogue: DemandCatalogue | None, actor: Any
    ) -> None:
        self.session, self.source, self.catalogue, self.actor = session, source, catalogue, actor
        self.result = ImportResult(source)
        self.errors: list[RowError] = []
        self.forbidden: list[RowError] = []

    async def row(self, line: int, raw: dict[str, str]) -> None:
        try:
            row = BacklogRow.model_validate(raw)
            if row.record not in RECORDS:
                raise ValueError(f"record: {row.record!r} is none of {', '.join(RECORDS)}")
            if row.record == "demand":
                self.result.skipped.append(
                    RowError(self.source, line, "a demand's row is read from its catalogue")
                )
            elif row.record == "action":
                await self.action(row)
            elif row.record == "uptake":
                await self.uptake(row)
            else:
                await self.milestone(row)
        except ValidationError as exc:
            self.errors.append(RowError(self.source, line, describe(exc)))
        except ValueError as exc:
            self.errors.append(RowError(self.source, line, str(exc)))
        except Forbidden as exc:
            self.forbidden.append(RowError(self.source, line, exc.detail))
        except TrackerError as exc:
            self.errors.append(RowError(self.source, line, exc.detail))

    async def find(self, key: str) -> DemandAction | None:
        if key.startswith(OWN_PREFIX):
            number = key.removeprefix(OWN_PREFIX)
            if not (number.isascii() and number.isdigit() and len(number) < 10):
                raise ValueError(f"action: {key} is no Maßnahme of this tracker")
            found = await self.session.get(DemandAction, int(number))
            if found is None:
                raise ValueError(f"action: Maßnahme {key} does not exist")
            return found
        return await queries.action_by_external_id(self.session, key)

    async def check_catalogue(self, action: DemandAction | None, row: BacklogRow) -> None:
        if self.catalogue is None:
            return
        if row.catalogue and row.catalogue != self.catalogue.key:
            raise ValueError(f"catalogue: {row.catalogue} is not {self.catalogue.key}")
        if action is not None and (await queries.catalogue_of(self.session, action)).id != (
            self.catalogue.id
        ):
            raise ValueError(f"action: {row.action} belongs to another catalogue")

    async def action(self, row: BacklogRow) -> None:
        found = await self.find(row.action)
        await self.check_catalogue(found, row)
        manual = _flag(row.progress_manual) if row.progress_manual else bool(row.progress)
        progress = _int("progress", row.progress) if manual else None
        weight = _float("weight", row.weight)
        fields: dict[str, Any] = {
            "title": _title(row), "responsible_level": row.responsible_level,
            "owner_ars": _none(row.owner_ars), "owner_body": _none(row.owner_body),
            "weight": 1.0 if weight is None else weight, "start_date": _day(row.start_date),
            "due_date": _day(row.due_date),
        }  # fmt: skip
        if found is None:
            if not row.demand:
                raise ValueError("demand: a new Maßnahme needs the key of its demand")
            demand = await queries.get_demand(self.session, row.demand)
            if self.catalogue is not None and demand.catalogue_id != self.catalogue.id:
                raise ValueError(f"demand: {row.demand} belongs to another catalogue")
            # the scope of every row, also of one that would change nothing
            catalogue = await queries.catalogue_by_id(self.session, demand.catalogue_id)
            actions.ensure_manages(self.actor, catalogue)
            data = ActionCreate.model_validate({
                **fields, "external_id": row.action, "status": row.status or "proposed",
                "progress": progress, "source": _none(row.source),
            })  # fmt: skip
            await actions.create_action(self.session, row.demand, data, actor=self.actor)
            self.result.inserted += 1
            self.result.changes.append(RecordChange(row.action, "create", None))
            return
        assert found.id is not None  # noqa: S101  (stored)
        actions.ensure_manages(self.actor, await queries.catalogue_of(self.session, found))
        patch = ActionPatch.model_validate({**fields, "progress": progress})
        wanted = {
            "title": patch.title.model_dump() if patch.title else None,
            "responsible_level": patch.responsible_level, "owner_ars": patch.owner_ars,
            "owner_body": patch.owner_body, "weight": patch.weight,
            "start_date": patch.start_date, "due_date": patch.due_date,
        }  # fmt: skip
        changed = {n for n, v in wanted.items() if getattr(found, n) != v}
        if manual != found.progress_manual or (manual and patch.progress != found.progress):
            changed.add("progress")
        status_changed = bool(row.status) and row.status != found.status
        if not changed and not status_changed:
            self.result.unchanged += 1
            return
        if status_changed:
            status = StatusWrite(status=row.status, progress=patch.progress if manual else None)
            await actions.change_action_status(
                self.session, found.id, status, if_match="*", actor=self.actor
            )
            changed.discard("progress")
        if changed:
            sent = ActionPatch.model_validate(
                {name: patch.model_dump(mode="json")[name] for name in changed}
            )
            await actions.update_action(
                self.session, found.id, sent, if_match="*", actor=self.actor
            )
        self.result.updated += 1
        self.result.changes.append(RecordChange(row.action, "update", None))

    async def parent(self, row: BacklogRow) -> DemandAction:
        found = await self.find(row.action)
        if found is None:
            raise ValueError(f"action: Maßnahme {row.action} does not exist")
        await self.check_catalogue(found, row)
        return found

    async def uptake(self, row: BacklogRow) -> None:
        action = await self.parent(row)
        assert action.id is not None  # noqa: S101  (stored)
        catalogue = await queries.catalogue_of(self.session, action)
        actions.ensure_takes_up(self.actor, catalogue, row.ars)
        data = UptakeWrite.model_validate({
            "status": row.status, "progress": _int("progress", row.progress),
            "comment": _none(row.comment),
        })  # fmt: skip
        stored = await queries.get_uptake(self.session, action.id, row.ars)
        if (
            stored is not None
            and (stored.status, stored.comment) == (data.status, data.comment)
            and (data.progress is None or data.progress == stored.progress)
        ):
            self.result.unchanged += 1
            return
        await actions.set_uptake(
            self.session, action.id, row.ars, data, if_match=None if stored is None else "*",
            actor=self.actor,
        )  # fmt: skip
        self.result.inserted += stored is None
        self.result.updated += stored is not None
        self.result.changes.append(RecordChange(f"{row.action}:{row.ars}", "upsert", None))

    async def milestone(self, row: BacklogRow) -> None:
        action = await self.parent(row)
        assert action.id is not None  # noqa: S101  (stored)
        actions.ensure_manages(self.actor, await queries.catalogue_of(self.session, action))
        if not row.external_id:
            raise ValueError("external_id: a milestone needs its external id")
        stored = await self.stored_milestone(row.external_id)
        if stored is None:
            data = MilestoneCreate.model_validate({
                "due_date": _day(row.due_date), "title": _title(row),
                "done_at": _day(row.done_at), "external_id": row.external_id,
                "source": _none(row.source),
            })  # fmt: skip
            await actions.add_milestone(self.session, action.id, data, actor=self.actor)
            self.result.inserted += 1
            return
        if stored.action_id != action.id:
            raise ValueError(f"external_id: milestone {row.external_id} is of another Maßnahme")
        patch = MilestonePatch.model_validate(
            {"due_date": _day(row.due_date), "title": _title(row), "done_at": _day(row.done_at)}
        )
        wanted = {"due_date": patch.due_date, "done_at": patch.done_at,
                  "title": patch.title.model_dump() if patch.title else None}  # fmt: skip
        changed = {name for name, value in wanted.items() if getattr(stored, name) != value}
        if not changed:
            self.result.unchanged += 1
            return
        assert stored.id is not None  # noqa: S101  (stored)
        sent = MilestonePatch.model_validate({n: patch.model_dump(mode="json")[n] for n in changed})
        await actions.update_milestone(
            self.session, stored.id, sent, if_match="*", actor=self.actor
        )
        self.result.updated += 1

    async def stored_milestone(self, key: str) -> ActionMilestone | None:
        prefix = f"{OWN_PREFIX}milestone:"
        if key.startswith(prefix):
            number = key.removeprefix(prefix)
            if not (number.isascii() and number.isdigit() and len(number) < 10):
                raise ValueError(f"external_id: {key} is no milestone of this tracker")
            found = await self.session.get(ActionMilestone, int(number))
            if found is None:
                raise ValueError(f"external_id: milestone {key} does not exist")
            return found
        return await queries.milestone_by_external_id(self.session, key)


async def import_backlog(
    session: AsyncSession,
    rows: Iterable[tuple[int, dict[str, str]]],
    source: str,
    *,
    actor: Any,
    catalogue: DemandCatalogue | None = None,
) -> ImportResult:
    """The rows of one file, all or nothing: any row that breaks a rule rejects the file
    (ImportRejected, `file:line: why`); a row outside the actor's scope makes it a Forbidden
    naming the line. `catalogue`: rows of other catalogues are errors (the API's upload)."""
    importer = Importer(session, source, catalogue, actor)
    for line, raw in rows:
        await importer.row(line, raw)
    if importer.forbidden:
        first = importer.forbidden[0]
        raise Forbidden(f"{first} ({len(importer.forbidden)} rows outside your scope)")
    if importer.errors:
        raise ImportRejected(importer.errors)
    if not importer.result.wrote_nothing:
        await access_actions.record_import(session, importer.result, entity="demand_action")
    return importer.result


async def import_file(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """`tracker import backlog FILE`: the operator's import (every catalogue)."""
    result = await import_backlog(session, file_rows(path), path.name, actor="cli")
    if progress is not None:
        progress(1)
    return result

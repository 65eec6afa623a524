"""Demand catalogues and the optional seed of DST positions, as JSON files inside the package
(`catalogues/`, `catalogues/positions/`). Each file is all-or-nothing and idempotent; any error
names the file, the line and the field, and nothing is written."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker.access import actions as access_actions
from tracker.demands import actions, queries
from tracker.demands.schemas import (
    ActionCreate,
    CatalogueDefinition,
    PositionsFile,
)
from tracker.errors import TrackerError
from tracker.importing import (
    ImportRejected,
    ImportResult,
    ProgressFn,
    RecordChange,
    RowError,
    not_utf8,
)

CATALOGUES = Path(__file__).parent / "catalogues"
POSITIONS = CATALOGUES / "positions"
IMPORT_ACTOR = "import"
M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


def _rejected(errors: list[RowError]) -> ImportRejected:
    return ImportRejected(errors, hint="Fix the file and import it again.")


def catalogue_files() -> list[Path]:
    return sorted(CATALOGUES.glob("*.json"))


def position_files() -> list[Path]:
    return sorted(POSITIONS.glob("*.json"))


class _Locator:
    """The line of every value of a valid JSON text, by its path (`demands`, 0, `title`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        self.lines: dict[Path_, int] = {}
        self.decoder = json.JSONDecoder()
        self._value(0, ())

    def line_of(self, where: Sequence[str | int]) -> int:
        """The line of the deepest value on the path that the text holds."""
        path = tuple(where)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def _skip(self, i: int) -> int:
        while i < len(self.text) and self.text[i] in " \t\r\n":
            i += 1
        return i

    def _value(self, i: int, path: Path_) -> int:
        i = self._skip(i)
        self.lines[path] = bisect.bisect_right(self.starts, i)
        if self.text[i] == "{":
            i = self._skip(i + 1)
            while self.text[i] != "}":
                key, i = json.decoder.scanstring(self.text, i + 1)  # type: ignore[attr-defined]
                i = self._value(self._skip(i) + 1, (*path, key))
                i = self._skip(i)
                i = self._skip(i + 1) if self.text[i] == "," else i
            return i + 1
        if self.text[i] == "[":
            i, index = self._skip(i + 1), 0
            while self.text[i] != "]":
                i = self._skip(self._value(i, (*path, index)))
                i = self._skip(i + 1) if self.text[i] == "," else i
                index += 1
            return i + 1
        _, end = self.decoder.raw_decode(self.text, i)
        return int(end)


def read_json(path: Path, model: type[M]) -> tuple[M, _Locator]:
    """The file validated as `model`; any error rejects it with file:line and field."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _rejected([RowError(path.name, line, not_utf8(raw, exc))]) from None
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise _rejected([RowError(path.name, exc.lineno, problem)]) from None
    locator = _Locator(text)
    try:
        return model.model_validate(loaded), locator
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "file"
            line = locator.line_of(error["loc"])
            errors.append(RowError(path.name, line, f"{where}: {error['msg']}"))
        raise _rejected(errors) from None


def _demand_lines(data: CatalogueDefinition, locator: _Locator) -> dict[str, int]:
    lines: dict[str, int] = {}

    def walk(demands: Any, path: Path_) -> None:
        for index, demand in enumerate(demands):
            lines[demand.key] = locator.line_of((*path, index, "key"))
            walk(demand.children, (*path, index, "children"))

    walk(data.demands, ("demands",))
    return lines


async def import_catalogue(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """A catalogue and its demand tree, created or brought up to date by key."""
    data, locator = read_json(path, CatalogueDefinition)
    lines = _demand_lines(data, locator)
    for key in lines:
        demand = await queries.find_demand(session, key)
        found = await queries.find_catalogue(session, data.key)
        if demand is not None and (found is None or demand.catalogue_id != found.id):
            problem = f"demand {key} belongs to another catalogue"
            raise _rejected([RowError(path.name, lines[key], problem)])
    _, outcomes = await actions.sync_catalogue(session, data, actor=IMPORT_ACTOR)
    result = ImportResult(path.name)
    for key, outcome in outcomes.items():
        if outcome == "unchanged":
            result.unchanged += 1
            continue
        result.changes.append(RecordChange(key, outcome, None))
        if outcome == "create":
            result.inserted += 1
        else:
            result.updated += 1
    if not result.wrote_nothing:
        await access_actions.record_import(session, result, entity="demand")
    if progress is not None:
        progress(len(lines))
    return result


async def import_positions(
    session: AsyncSession,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """The labelled seed of dated Maßnahmen and milestones: created where their external id is
    new, left as they are otherwise (edits made since are kept)."""
    data, locator = read_json(path, PositionsFile)
    if await queries.find_catalogue(session, data.catalogue) is None:
        line = locator.line_of(("catalogue",))
        problem = f"catalogue {data.catalogue} is not loaded; run `tracker import demands` first"
        raise _rejected([RowError(path.name, line, problem)])
    result = ImportResult(path.name)
    for index, position in enumerate(data.positions):
        line = locator.line_of(("positions", index))
        try:
            action = await queries.action_by_external_id(session, position.external_id)
            if action is None:
                fields = position.model_dump(exclude={"demand", "milestones"})
                action = await actions.create_action(
                    session, position.demand, ActionCreate.model_validate(fields),
                    actor=IMPORT_ACTOR,
                )  # fmt: skip
                result.inserted += 1
                result.changes.append(RecordChange(position.external_id, "create", None))
            else:
                result.unchanged += 1
            assert action.id is not None  # noqa: S101  (stored)
            for milestone in position.milestones:
                if await queries.milestone_by_external_id(session, milestone.external_id) is None:
                    await actions.add_milestone(session, action.id, milestone, actor=IMPORT_ACTOR)
        except TrackerError as exc:
            raise _rejected([RowError(path.name, line, exc.detail)]) from None
    if not result.wrote_nothing:
        await access_actions.record_import(session, result, entity="demand_action")
    if progress is not None:
        progress(len(data.positions))
    return result

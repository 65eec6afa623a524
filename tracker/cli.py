"""`tracker` command: database upgrade, imports of the reference data, serving, the OpenAPI file."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import secrets
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import click
import httpx
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from tracker import fields
from tracker.access import actions as access_actions
from tracker.access import queries as access_queries
from tracker.access.models import Role
from tracker.access.schemas import GrantCreate, TokenCreate, UserCreate
from tracker.catalog.imports import CATALOG_FILES
from tracker.db import as_utc, create_engine, create_sessionmaker
from tracker.demands import backlog as demands_backlog
from tracker.demands import imports as demands_imports
from tracker.errors import TrackerError
from tracker.importing import (
    MAX_ERRORS_LISTED,
    ImportRejected,
    ImportResult,
    ProgressFn,
    describe,
    refresh_statistics,
)
from tracker.jobs import actions as jobs_actions
from tracker.jobs import queries as jobs_queries
from tracker.jobs.models import JobStatus
from tracker.jobs.workers import run_worker
from tracker.maturity import actions as maturity_actions
from tracker.maturity import bulk, pairs, pvog
from tracker.maturity import imports as maturity_imports
from tracker.maturity.schemas import ModelDefinition
from tracker.outbound import Downloaded, build_http_client, download
from tracker.probes import actions as probes_actions
from tracker.probes import queries as probes_queries
from tracker.regions.gv100ad import RecordError
from tracker.regions.gv100ad import verify as verify_gv100ad
from tracker.regions.imports import GV100AD_FILE, count_records, import_gv100ad
from tracker.reports import comparison, exports
from tracker.research import actions as research_actions
from tracker.settings import PROJECT_ROOT, Settings
from tracker.webhooks import actions as webhooks_actions

CLI_ACTOR = "cli"
console = Console(stderr=True)

# One step: a label, the number of rows for the bar, and the import to run in its own transaction.
Step = tuple[str, int, Callable[..., Awaitable[ImportResult | list[ImportResult]]], Path]


def alembic_config() -> Config:
    return Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))


def _csv_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def rebuilding_pairs(
    run: Callable[..., Awaitable[ImportResult | list[ImportResult]]],
) -> Callable[..., Awaitable[ImportResult | list[ImportResult]]]:
    """Catalogue and regions sit below maturity and cannot refresh its pair levels: the edge
    rebuilds them in the file's transaction when the file changed anything (a LeiKa-Typ, a
    mapping to an OZG-Leistung, an inhabited Gemeinde)."""

    async def step(
        session: AsyncSession, path: Path, **options: Any
    ) -> ImportResult | list[ImportResult]:
        outcome = await run(session, path, **options)
        results = outcome if isinstance(outcome, list) else [outcome]
        if not all(result.wrote_nothing for result in results):
            await pairs.rebuild(session)
        return outcome

    return step


def catalog_steps(directory: Path) -> list[Step]:
    missing = [name for name, _ in CATALOG_FILES if not (directory / name).is_file()]
    if missing:
        raise click.ClickException(f"{directory} lacks {', '.join(missing)}")
    return [
        (name, _csv_rows(directory / name), rebuilding_pairs(run), directory / name)
        for name, run in CATALOG_FILES
    ]


def regions_steps(path: Path, *, allow_retire: bool = False) -> list[Step]:
    run = partial(
        import_gv100ad,
        allow_retire=allow_retire,
        max_retire_share=Settings.from_env().max_retire_share,
    )
    return [(path.name, count_records(path), rebuilding_pairs(run), path)]


def demands_steps(paths: tuple[Path, ...] = (), *, with_positions: bool = False) -> list[Step]:
    """The catalogues inside the package (or the files given), then optionally the seed."""
    steps: list[Step] = [
        (path.name, 1, demands_imports.import_catalogue, path)
        for path in paths or demands_imports.catalogue_files()
    ]
    if with_positions:
        steps += [
            (path.name, 1, demands_imports.import_positions, path)
            for path in demands_imports.position_files()
        ]
    return steps


def wsp_steps(path: Path) -> list[Step]:
    return [(path.name, _csv_rows(path), maturity_imports.import_wsp_nrw, path)]


async def _run_steps(settings: Settings, steps: list[Step], *, skip_invalid: bool) -> bool:
    # The modules' hundred thousand objects live as long as the process: kept out of the cyclic
    # collector, its full passes during a long import walk only what the import made.
    gc.freeze()
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    results: list[ImportResult] = []
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, disable=not console.is_terminal,
        ) as bar:  # fmt: skip
            for label, total, run, path in steps:
                task = bar.add_task(label, total=total)
                advance: ProgressFn = partial(bar.advance, task)
                try:
                    async with sessionmaker.begin() as session:
                        outcome = await run(
                            session, path, skip_invalid=skip_invalid, progress=advance
                        )
                        await refresh_statistics(session)
                        for done in outcome if isinstance(outcome, list) else [outcome]:
                            await webhooks_actions.emit(session, "import.finished", None, {
                                "source": done.source, "inserted": done.inserted,
                                "updated": done.updated, "unchanged": done.unchanged,
                                "rejected": done.rejected_count,
                            })  # fmt: skip
                except ImportRejected as rejected:
                    bar.stop()
                    _report_rejection(label, rejected)
                    return False
                except Exception as exc:  # a file must never end in a traceback
                    bar.stop()
                    click.echo(f"{label}: failed, nothing written: {exc!r}", err=True)
                    return False
                bar.update(task, completed=total)
                results.extend(outcome if isinstance(outcome, list) else [outcome])
    finally:
        await engine.dispose()
    for result in results:
        click.echo(result.summary())
        _list("rejected (invalid, left out)", result.rejected, result.rejected_count)
        _list("skipped", result.skipped, len(result.skipped))
    return True


def _list(what: str, errors: list[Any], total: int) -> None:
    """The first rows of a kind, and how many more there are."""
    for error in errors[:MAX_ERRORS_LISTED]:
        click.echo(f"  {what}: {error}")
    if total > MAX_ERRORS_LISTED:
        click.echo(f"  … and {total - MAX_ERRORS_LISTED} more {what.split(' ')[0]}")


def _report_rejection(label: str, rejected: ImportRejected) -> None:
    click.echo(f"{label}: rejected, nothing written ({rejected.total} errors)", err=True)
    for error in rejected.errors[:MAX_ERRORS_LISTED]:
        click.echo(f"  {error}", err=True)
    if rejected.total > MAX_ERRORS_LISTED:
        click.echo(f"  … and {rejected.total - MAX_ERRORS_LISTED} more", err=True)
    click.echo(
        rejected.hint or "Fix the file, or pass --skip-invalid to import the valid rows.", err=True
    )


def _import(steps: list[Step], skip_invalid: bool) -> None:
    if not asyncio.run(_run_steps(Settings.from_env(), steps, skip_invalid=skip_invalid)):
        sys.exit(1)


@click.group()
def main() -> None:
    """OZG service-design backlog and maturity tracker."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (TRACKER_DATABASE_URL) to the newest schema; derived tables that a
    migration created empty (the pair levels) are built."""
    command.upgrade(alembic_config(), "head")

    async def build(session: AsyncSession) -> str:
        if not await pairs.missing(session):
            return ""
        await pairs.rebuild(session)
        return "pair levels built from the assessments"

    if done := _in_transaction(build):
        click.echo(done)


skip_invalid_option = click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows and list the others, instead of rejecting the file.",
)


@main.group("import")
def import_group() -> None:
    """Import reference data (idempotent; each file all-or-nothing)."""


@import_group.command("catalog")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@skip_invalid_option
def import_catalog(directory: Path | None, skip_invalid: bool) -> None:
    """OZG catalogue and LeiKa map from DIRECTORY (default: the data directory)."""
    _import(catalog_steps(directory or Settings.from_env().data_dir), skip_invalid)


@import_group.command("regions")
@click.argument(
    "gv100ad_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@skip_invalid_option
@click.option(
    "--allow-retire",
    is_flag=True,
    help="Mark units missing from the file no longer valid even beyond the usual share "
    "(TRACKER_MAX_RETIRE_SHARE, default 5 % of a level).",
)
def import_regions(gv100ad_file: Path | None, skip_invalid: bool, allow_retire: bool) -> None:
    """Länder, Kreise, Gemeindeverbände and Gemeinden from a raw Destatis GV100AD file."""
    path = gv100ad_file or Settings.from_env().data_dir / GV100AD_FILE
    _import(regions_steps(path, allow_retire=allow_retire), skip_invalid)


@import_group.command("wsp-nrw")
@click.argument(
    "path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@skip_invalid_option
def import_wsp(path: Path | None, skip_invalid: bool) -> None:
    """Services live in the NRW Wirtschafts-Service-Portal, as assessments of NRW Gemeinden."""
    _import(
        wsp_steps(path or Settings.from_env().data_dir / maturity_imports.WSP_NRW_FILE),
        skip_invalid,
    )


@import_group.command("pvog")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@skip_invalid_option
def import_pvog(path: Path, skip_invalid: bool) -> None:
    """An open-PVOG export of the Dashboard Digitale Verwaltung, as online-access assessments
    (level 2, the dashboard's "online") of the Gemeinden each record's ARS covers."""
    _import([(path.name, _csv_rows(path), pvog.import_pvog, path)], skip_invalid)


@import_group.command("assessments")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@skip_invalid_option
def import_assessments(paths: tuple[Path, ...], skip_invalid: bool) -> None:
    """Assessments in the bulk schema (CSV or XLSX), idempotent on external_id; status and
    dates as the file gives them (default validated). Several files are imported in turn, each
    in its own transaction; a rejected one stops there."""
    steps: list[Step] = [
        (
            path.name,
            _csv_rows(path) if path.suffix.lower() != ".xlsx" else 0,
            bulk.import_file,
            path,
        )
        for path in paths
    ]
    _import(steps, skip_invalid)


@import_group.command("demands")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--with-positions",
    is_flag=True,
    help="Also load the optional, labelled seed of DST positions as dated Maßnahmen and "
    "milestones with their sources.",
)
def import_demands(paths: tuple[Path, ...], with_positions: bool) -> None:
    """Demand catalogues as JSON (default: the Dresdner Forderungen shipped with tracker),
    idempotent on their keys; each file all-or-nothing."""
    _import(demands_steps(paths, with_positions=with_positions), skip_invalid=False)


@import_group.command("backlog")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
def import_backlog(paths: tuple[Path, ...]) -> None:
    """Maßnahmen, uptake and milestones from backlog exports (CSV, German Excel CSV or XLSX,
    as GET /demand-catalogues/{key}/backlog writes them), as the operator: each file all or
    nothing, idempotent on the external ids."""
    _import([(path.name, 1, demands_backlog.import_file, path) for path in paths], False)


@import_group.command("all")
@skip_invalid_option
def import_all(skip_invalid: bool) -> None:
    """Catalogue, regions and the NRW portal list from the data directory (TRACKER_DATA_DIR),
    and the demand catalogues shipped with tracker."""
    data_dir = Settings.from_env().data_dir
    steps = catalog_steps(data_dir) + regions_steps(data_dir / GV100AD_FILE)
    steps += wsp_steps(data_dir / maturity_imports.WSP_NRW_FILE) + demands_steps()
    _import(steps, skip_invalid)


@main.group()
def user() -> None:
    """Users and their roles."""


@user.command("add")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([role.value for role in Role]),
    help="Role to grant (repeatable); scoped by --scope.",
)
@click.option(
    "--scope", "scope_ars", default="", show_default=True, help="ARS prefix of the roles."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read a password for the browser login from stdin."
)
def user_add(
    email: str, display_name: str, roles: tuple[str, ...], scope_ars: str, password_stdin: bool
) -> None:
    """Create a user (audited as 'cli')."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        data = UserCreate(
            email=email,
            display_name=display_name,
            password=password,
            grants=[GrantCreate(role=Role(role), scope_ars=scope_ars) for role in roles],
        )
    except ValidationError as exc:
        raise click.BadParameter(describe(exc)) from exc

    async def create(session: AsyncSession) -> str:
        created = await access_actions.create_user(session, data, actor=CLI_ACTOR)
        return f"user {created.id} {created.email}"

    click.echo(_in_transaction(create))


@main.group()
def research() -> None:
    """User research: retention of raw notes."""


@research.command("purge")
def research_purge() -> None:
    """Erase the content of observations older than their study's retention period (kept as
    tombstones; findings remain). Idempotent; prints what it erased."""

    async def purge(session: AsyncSession) -> str:
        today = Settings.from_env().today()
        done = await research_actions.purge_expired(session, today=today, actor=CLI_ACTOR)
        lines = [
            f"study {study}: {erased} observation(s) erased"
            + (f"; findings to review: {', '.join(map(str, flagged))}" if flagged else "")
            for study, erased, flagged in done
        ]
        return "\n".join(lines) or "nothing to erase"

    click.echo(_in_transaction(purge))


@main.group()
def token() -> None:
    """API tokens for dashboards and integrations."""


@token.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 366))
@click.option("--scope", "scope_ars", default=None, help="ARS prefix narrowing the owner's roles.")
def token_create(email: str, name: str, days: int, scope_ars: str | None) -> None:
    """Create a token for EMAIL; the secret is printed this once."""
    try:
        data = TokenCreate(name=name, expires_in_days=days, scope_ars=scope_ars)
    except ValidationError as exc:
        raise click.BadParameter(describe(exc)) from exc

    async def create(session: AsyncSession) -> str:
        owner = await access_queries.get_user_by_email(session, email)
        if owner is None or owner.id is None:
            raise click.ClickException(f"no user with the e-mail {email}")
        created, secret = await access_actions.create_token(
            session, owner.id, data, actor=CLI_ACTOR
        )
        return f"token {created.id} for {email}, expires {created.expires_at:%Y-%m-%d}:\n{secret}"

    click.echo(_in_transaction(create))


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token at once."""

    async def revoke(session: AsyncSession) -> str:
        await access_actions.revoke_token(session, token_id, if_match=None, actor=CLI_ACTOR)
        return f"token {token_id} revoked"

    click.echo(_in_transaction(revoke))


@main.group()
def model() -> None:
    """Maturity models as data."""


@model.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def model_add(path: Path) -> None:
    """Add a model version from a JSON definition (levels, criteria, mapping to other models)."""
    try:
        data = ModelDefinition.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise click.BadParameter(describe(exc)) from exc

    async def create(session: AsyncSession) -> str:
        added = await maturity_actions.add_model(session, data, actor=CLI_ACTOR)
        return f"model {added.id} {added.key}"

    click.echo(_in_transaction(create))


@model.command("name-criterion")
@click.argument("model_key")
@click.argument("criterion_key")
@click.argument("name")
@click.option("--description", default=None, help="What the criterion asks (shown on the form).")
def model_name_criterion(
    model_key: str, criterion_key: str, name: str, description: str | None
) -> None:
    """Give a criterion with a stand-in name ("Kriterium 7 (Name ungeprüft)") its name from the
    official source: it then appears on the form (audited)."""

    async def rename(session: AsyncSession) -> str:
        named = await maturity_actions.name_criterion(
            session, model_key, criterion_key, name=name, description=description, actor=CLI_ACTOR
        )
        return f"{model_key} {named.key}: {named.name}"

    click.echo(_in_transaction(rename))


@main.group()
def applicability() -> None:
    """Which Leistungen apply to Gemeinden by default."""


@applicability.command("types")
@click.option("--add", "added", multiple=True, help="A LeiKa-Typ code to apply (repeatable).")
@click.option("--remove", "removed", multiple=True, help="A code to apply no more (repeatable).")
def applicability_types(added: tuple[str, ...], removed: tuple[str, ...]) -> None:
    """Show, or change, the LeiKa-Typ codes whose services apply to Gemeinden (audited; the pair
    levels are rebuilt at once)."""

    async def change(session: AsyncSession) -> str:
        codes = await maturity_actions.change_municipal_types(
            session, add=added, remove=removed, actor=CLI_ACTOR
        )
        return ", ".join(sorted(codes))

    click.echo(_in_transaction(change))


@main.group()
def verify() -> None:
    """Check derived data against what it is derived from."""


@verify.command("pairs")
@click.option("--repair", is_flag=True, help="Rebuild the pair levels if they differ.")
@click.option(
    "--rebuild", is_flag=True, help="Rebuild the pair levels and counts first, and time it."
)
@click.option(
    "--queue", is_flag=True,
    help="Queue a rebuild of the pair levels and counts as a job (the worker runs it) instead.",
)  # fmt: skip
def verify_pairs(repair: bool, rebuild: bool, queue: bool) -> None:
    """Rebuild the pair levels from the append-only assessments into a scratch table, and their
    counts now and at the end of every closed month, and print every difference to the stored
    ones (exit 1 on any)."""
    if queue:

        async def queued(session: AsyncSession) -> str:
            job_id = await jobs_actions.enqueue(session, "pairs.rebuild", key="pairs.rebuild")
            return "a rebuild is already queued" if job_id is None else f"job {job_id} queued"

        click.echo(_in_transaction(queued))
        return

    unrepaired: list[Any] = []
    if rebuild:

        async def rebuilt(session: AsyncSession) -> str:
            started = time.perf_counter()
            await pairs.rebuild(session)
            return f"rebuilt ({time.perf_counter() - started:.2f} s)"

        click.echo(_in_transaction(rebuilt))

    async def check(session: AsyncSession) -> str:
        started = time.perf_counter()
        found: list[Any] = [*await pairs.differences(session)]
        found += await pairs.count_differences(session)
        seconds = time.perf_counter() - started
        for difference in found[:MAX_ERRORS_LISTED]:
            click.echo(str(difference))
        if len(found) > MAX_ERRORS_LISTED:
            click.echo(f"… and {len(found) - MAX_ERRORS_LISTED} more")
        if found and repair:
            await pairs.rebuild(session)
            return f"{len(found)} differences ({seconds:.2f} s); rebuilt"
        unrepaired.extend(found)
        return f"{len(found)} differences ({seconds:.2f} s)"

    click.echo(_in_transaction(check))
    if unrepaired:
        sys.exit(1)


@main.group()
def report() -> None:
    """Comparison reports as files."""


@report.command("comparison")
@click.option(
    "--set", "definition", required=True,
    help="The Gemeinden: land:05, kreisfrei, land:05;band:grossstadt, peers:053150000000 …",
)  # fmt: skip
@click.option("--at", default=None, help="Report date, ISO 8601 (a day: its end); default now.")
@click.option("--since", default=None, help="Comparison date; default a year before, month end.")
@click.option(
    "--format", "file_format", default=exports.Format.XLSX.value, show_default=True,
    type=click.Choice([choice.value for choice in exports.Format]),
)  # fmt: skip
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write.",
)  # fmt: skip
def report_comparison(
    definition: str, at: str | None, since: str | None, file_format: str, output: Path
) -> None:
    """Write the comparison report of a set of Gemeinden, as the API gives it."""
    settings = Settings.from_env()
    made: list[bytes] = []

    async def make(session: AsyncSession) -> str:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, disable=not console.is_terminal,
        ) as bar:  # fmt: skip
            task = bar.add_task("Vergleich", total=comparison.STEPS)
            _, result = await comparison.report(
                session, definition, at=fields.report_moment(at),
                since=fields.report_moment(since, "since"), settings=settings,
                progress=lambda name: bar.update(task, description=name, advance=1),
            )  # fmt: skip
        made.append(exports.render(result, exports.Format(file_format)))
        return f"{output}: {len(result['members'])} Gemeinden, {len(made[0]):,} bytes"

    done = _in_transaction(make)
    try:
        output.write_bytes(made[0])
    except OSError as error:
        raise click.ClickException(f"{output}: cannot be written ({error.strerror})") from None
    click.echo(done)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[str]]) -> str:
    async def go() -> str:
        engine = create_engine(Settings.from_env().database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                return await work(session)
        except TrackerError as exc:
            raise click.ClickException(exc.detail) from exc
        finally:
            await engine.dispose()

    return asyncio.run(go())


host_option = click.option("--host", default="127.0.0.1", show_default=True)
port_option = click.option("--port", default=8000, show_default=True, type=int)


workers_option = click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1),
    help="uvicorn worker processes, each with its own engines and caches.",
)  # fmt: skip


@main.command()
@host_option
@port_option
@workers_option
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app and API with uvicorn, in one process or several workers."""
    import uvicorn

    settings = Settings.from_env()
    if workers > 1 and not os.environ.get("TRACKER_SECRET_KEY"):
        # Each worker would draw its own key: a cookie signed by one would fail on the next.
        os.environ["TRACKER_SECRET_KEY"] = secrets.token_hex(32)
        console.print("TRACKER_SECRET_KEY unset: one drawn for these workers until they stop")
    # A worker must be serving within the health check's time, else uvicorn kills it: each one
    # imports this module again (`__mp_main__`), which on a loaded machine takes over the 5 s
    # default.
    uvicorn.run(
        "tracker.app:create_app", factory=True, host=host, port=port, workers=workers,
        timeout_worker_healthcheck=60, **proxy_options(settings),
    )  # fmt: skip


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so that any local client could
    pose as another address to the login rate limit: only configured proxies are believed."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


@main.command()
@host_option
@port_option
@workers_option
@click.pass_context
def demo(context: click.Context, host: str, port: int, workers: int) -> None:
    """Upgrade the database, import all reference data, and serve."""
    context.invoke(db_upgrade)
    context.invoke(import_all, skip_invalid=False)
    context.invoke(serve, host=host, port=port, workers=workers)


@main.group()
def fetch() -> None:
    """Download a newer release of the reference data, verify it, and import it."""


dir_option = click.option(
    "--dir", "directory", default=Path("reference-downloads"), show_default=True,
    type=click.Path(file_okay=False, path_type=Path), help="Where downloads are kept.",
)  # fmt: skip
sha_option = click.option("--sha256", default=None, help="The checksum the file must have.")


def _download(url: str, target: Path, expected: str | None) -> Path:
    """Download with a progress bar, print the checksum, check it if one is given."""
    settings = Settings.from_env()

    # tests hand in a transport (`main(obj={"transport": …})`); else the network
    transport = (click.get_current_context().find_object(dict) or {}).get("transport")

    async def go() -> Downloaded:
        client = build_http_client(settings, transport=transport)
        client.timeout = httpx.Timeout(settings.http_timeout_seconds, read=60.0)
        try:
            with Progress(
                TextColumn(target.name), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                console=console, disable=not console.is_terminal,
            ) as bar:  # fmt: skip
                task = bar.add_task("download", total=None)
                return await download(
                    client, url, target,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )  # fmt: skip
        finally:
            await client.aclose()

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        got = asyncio.run(go())
    except (httpx.HTTPError, ValueError, OSError) as exc:
        raise click.ClickException(
            f"{url}: {exc} (kept what arrived; run again to resume)"
        ) from exc
    resumed = f", resumed after {got.resumed_from} bytes" if got.resumed_from else ""
    click.echo(f"{got.path}: {got.size_bytes} bytes, sha256 {got.sha256}{resumed}")
    if expected is not None and expected.lower() != got.sha256:
        got.path.unlink()
        raise click.ClickException(f"checksum mismatch: expected {expected}, got {got.sha256}")
    return got.path


@fetch.command("gv100ad")
@click.argument("url")
@dir_option
@sha_option
@click.option("--allow-retire", is_flag=True, help="As for `tracker import regions`.")
def fetch_gv100ad(url: str, directory: Path, sha256: str | None, allow_retire: bool) -> None:
    """Download a GV100AD release (Destatis, fixed-width text), check that every line parses,
    and import it (Gemeinden that left are retired, not deleted)."""
    name = httpx.URL(url).path.rsplit("/", 1)[-1] or "GV100AD.txt"
    path = _download(url, directory / name, sha256)
    try:
        gemeinden = verify_gv100ad(path)
    except (RecordError, ImportRejected) as exc:
        raise click.ClickException(f"not imported: {exc}") from None
    click.echo(f"{path.name}: parses, {gemeinden} Gemeinden")
    _import(regions_steps(path, allow_retire=allow_retire), skip_invalid=False)


@fetch.command("catalog")
@click.argument("urls", nargs=-1, required=True)
@dir_option
def fetch_catalog(urls: tuple[str, ...], directory: Path) -> None:
    """Download catalogue files (named as in the data directory: themenfelder.csv, …), and
    import the catalogue with the others taken from the data directory."""
    known = {name for name, _ in CATALOG_FILES}
    staged = directory / "catalog"
    staged.mkdir(parents=True, exist_ok=True)
    for url in urls:
        name = httpx.URL(url).path.rsplit("/", 1)[-1]
        if name not in known:
            raise click.ClickException(f"{url}: not a catalogue file ({', '.join(sorted(known))})")
        _download(url, staged / name, None)
    data_dir = Settings.from_env().data_dir
    for name in known:
        if not (staged / name).exists() and (data_dir / name).exists():
            shutil.copyfile(data_dir / name, staged / name)
    _import(catalog_steps(staged), skip_invalid=False)


@main.group()
def probe() -> None:
    """Link probes of the online services' URLs."""


@probe.command("run")
@click.option("--area", default="", help="ARS prefix, e.g. 05 (NRW).")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="At most N URLs.")
@click.option(
    "--since", default=None, metavar="MOMENT",
    help="Resume an interrupted run: leave the URLs probed since its start (ISO 8601, printed "
    "at the start of every run).",
)  # fmt: skip
def probe_run(area: str, limit: int | None, since: str | None) -> None:
    """Probe every URL that current assessments cite (in AREA), now, with a progress bar; the
    results are committed per host in batches, so an interrupted run keeps what it did; the
    server's worker also runs this daily."""
    if area and not (area.isdigit() and len(area) <= 12):
        raise click.BadParameter("an ARS prefix of up to 12 digits", param_hint="--area")
    resume = None
    if since is not None:
        try:
            resume = as_utc(datetime.fromisoformat(since))
        except ValueError:
            raise click.BadParameter("an ISO 8601 moment", param_hint="--since") from None
    settings = Settings.from_env()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    click.echo(f"run started {started} (to resume it: --since {resume or started})", err=True)

    async def go() -> str:
        engine = create_engine(settings.database_url)
        client = build_http_client(settings)
        try:
            with Progress(
                TextColumn("Prüfung"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, disable=not console.is_terminal,
            ) as bar:  # fmt: skip
                task = bar.add_task("probes", total=None)
                report = await probes_actions.run_probes(
                    create_sessionmaker(engine), client, settings, area=area, limit=limit,
                    since=resume,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )  # fmt: skip
            async with create_sessionmaker(engine).begin() as session:
                summary = await probes_queries.describe_run(session, report.probed)
        finally:
            await client.aclose()
            await engine.dispose()
        left = f"; {report.skipped} probed since {resume}" if resume else ""
        return summary + left

    click.echo(asyncio.run(go()))


@main.group(invoke_without_command=True)
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), default=None)
@click.option("--kind", default=None, help="e.g. probes.run, webhooks.deliver")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def jobs(context: click.Context, status: str | None, kind: str | None, limit: int) -> None:
    """List background jobs, newest first: status, attempts, the last error
    (`tracker jobs retry ID` queues a dead one again)."""
    if context.invoked_subcommand is not None:
        return

    async def listing(session: AsyncSession) -> str:
        found = await jobs_queries.list_jobs(session, status=status, kind=kind, limit=limit)
        lines = [f"{'id':>6}  {'kind':<20} {'status':<10} {'tries':>5}  run at / last error"]
        for job in found:
            moment = as_utc(job.finished_at or job.run_at).isoformat(timespec="seconds")
            lines.append(
                f"{job.id:>6}  {job.kind:<20} {job.status:<10} "
                f"{job.attempts:>2}/{job.max_attempts:<2}  {moment}"
                + (f"  {job.last_error.splitlines()[0][:80]}" if job.last_error else "")
            )
        return "\n".join(lines)

    click.echo(_in_transaction(listing))


@jobs.command("retry")
@click.argument("job_id", type=click.IntRange(1, 2_147_483_647))
def jobs_retry(job_id: int) -> None:
    """Queue the dead job JOB_ID again, now, with its attempts from nought (audited)."""

    async def retrying(session: AsyncSession) -> str:
        job = await jobs_actions.retry(session, job_id, actor=CLI_ACTOR)
        return f"job {job_id} ({job.kind}) queued again"

    click.echo(_in_transaction(retrying))


@main.command()
@click.option("--once", is_flag=True, help="Run the due jobs, then stop.")
def worker(once: bool) -> None:
    """Run background jobs: on PostgreSQL a procrastinate worker (start as many as needed, on
    any machines sharing the database); on SQLite a polling worker (the server runs one too)."""
    from tracker import tasks

    settings = Settings.from_env()

    async def go() -> None:
        engine = create_engine(settings.database_url)
        client = build_http_client(settings)
        try:
            await run_worker(
                create_sessionmaker(engine), tasks.TASKS, tasks.periodic(settings),
                settings=settings, http_client=client, once=once,
            )  # fmt: skip
        finally:
            await client.aclose()
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


@main.command("export-openapi")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=PROJECT_ROOT / "openapi" / "openapi.json",
)
def export_openapi(output: Path) -> None:
    """Write the OpenAPI document (no database needed)."""
    from tracker.app import create_app, render_openapi

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi(create_app(Settings())), encoding="utf-8")
    click.echo(f"wrote {output}")


if __name__ == "__main__":
    main()

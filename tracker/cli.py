"""`tracker` command: database upgrade, imports of the reference data, serving, the OpenAPI file."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tracker.catalog.imports import CATALOG_FILES
from tracker.db import create_engine, create_sessionmaker
from tracker.importing import ImportRejected, ImportResult, ProgressFn
from tracker.regions.imports import GV100AD_FILE, count_records, import_gv100ad
from tracker.settings import PROJECT_ROOT, Settings

MAX_ERRORS_SHOWN = 50
console = Console(stderr=True)

# One step: a label, the number of rows for the bar, and the import to run in its own transaction.
Step = tuple[str, int, Callable[..., Awaitable[ImportResult | list[ImportResult]]], Path]


def alembic_config() -> Config:
    return Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))


def _csv_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def catalog_steps(directory: Path) -> list[Step]:
    return [
        (name, _csv_rows(directory / name), run, directory / name) for name, run in CATALOG_FILES
    ]


def regions_steps(path: Path) -> list[Step]:
    return [(path.name, count_records(path), import_gv100ad, path)]


async def _run_steps(settings: Settings, steps: list[Step], *, skip_invalid: bool) -> bool:
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
                except ImportRejected as rejected:
                    bar.stop()
                    _report_rejection(label, rejected)
                    return False
                bar.update(task, completed=total)
                results.extend(outcome if isinstance(outcome, list) else [outcome])
    finally:
        await engine.dispose()
    for result in results:
        click.echo(result.summary())
        for error in result.rejected[:MAX_ERRORS_SHOWN]:
            click.echo(f"  skipped {error}")
    return True


def _report_rejection(label: str, rejected: ImportRejected) -> None:
    click.echo(f"{label}: rejected, nothing written ({len(rejected.errors)} errors)", err=True)
    for error in rejected.errors[:MAX_ERRORS_SHOWN]:
        click.echo(f"  {error}", err=True)
    if len(rejected.errors) > MAX_ERRORS_SHOWN:
        click.echo(f"  … and {len(rejected.errors) - MAX_ERRORS_SHOWN} more", err=True)
    click.echo("Fix the file, or pass --skip-invalid to import the valid rows.", err=True)


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
    """Migrate the database (TRACKER_DATABASE_URL) to the newest schema."""
    command.upgrade(alembic_config(), "head")


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
def import_regions(gv100ad_file: Path | None, skip_invalid: bool) -> None:
    """Länder, Kreise, Gemeindeverbände and Gemeinden from a raw Destatis GV100AD file."""
    _import(
        regions_steps(gv100ad_file or Settings.from_env().data_dir / GV100AD_FILE), skip_invalid
    )


@import_group.command("all")
@skip_invalid_option
def import_all(skip_invalid: bool) -> None:
    """Catalogue and regions from the data directory (TRACKER_DATA_DIR)."""
    data_dir = Settings.from_env().data_dir
    _import(catalog_steps(data_dir) + regions_steps(data_dir / GV100AD_FILE), skip_invalid)


host_option = click.option("--host", default="127.0.0.1", show_default=True)
port_option = click.option("--port", default=8000, show_default=True, type=int)


@main.command()
@host_option
@port_option
def serve(host: str, port: int) -> None:
    """Serve the web app and API with uvicorn."""
    import uvicorn

    uvicorn.run("tracker.app:create_app", factory=True, host=host, port=port)


@main.command()
@host_option
@port_option
@click.pass_context
def demo(context: click.Context, host: str, port: int) -> None:
    """Upgrade the database, import all reference data, and serve."""
    context.invoke(db_upgrade)
    context.invoke(import_all, skip_invalid=False)
    context.invoke(serve, host=host, port=port)


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

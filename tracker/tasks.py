"""Every job function by kind, and the periodic ones with their interval: an edge module (it
imports the features whose work runs in the background), read by the server and the worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col

from tracker.db import run
from tracker.jobs import actions as jobs_actions
from tracker.jobs.actions import JobContext, Task
from tracker.jobs.models import Job, JobStatus
from tracker.maturity import pairs
from tracker.probes import actions as probes_actions
from tracker.reports import files as report_files
from tracker.settings import Settings
from tracker.webhooks import actions as webhooks_actions

KEEP_SUCCEEDED_DAYS = 30


async def prune_jobs(context: JobContext) -> None:
    """Succeeded jobs older than 30 days go; dead ones stay until someone has looked. Report
    files made in the background go after a week."""
    await report_files.prune(context.session, context.now)
    before = context.now - timedelta(days=KEEP_SUCCEEDED_DAYS)
    await run(
        context.session,
        delete(Job).where(col(Job.status) == JobStatus.SUCCEEDED, col(Job.finished_at) < before),
    )


async def run_probes(context: JobContext) -> None:
    """The link probes of `area` (default: everywhere), at most `limit` URLs, committed in
    batches. The first attempt stores its start in the job's arguments; a later one (after a
    failure, or a worker killed midway) resumes: it leaves the URLs probed since."""
    if context.http_client is None or context.sessionmaker is None:
        raise RuntimeError("probes need the outbound client and a sessionmaker")
    since = context.args.get("since")
    if since is None:
        since = context.now.isoformat()
        await jobs_actions.remember(
            context.sessionmaker, context.job_id, {**context.args, "since": since}
        )
    await probes_actions.run_probes(
        context.sessionmaker, context.http_client, context.settings,
        area=str(context.args.get("area", "")), limit=context.args.get("limit"),
        since=datetime.fromisoformat(since),
    )  # fmt: skip


async def rebuild_pairs(context: JobContext) -> None:
    """The pair levels and their counts rebuilt from the assessments (`tracker verify pairs
    --repair` in the background), in the job's one transaction."""
    await pairs.rebuild(context.session)


TASKS: dict[str, Task] = {
    "jobs.prune": prune_jobs,
    "pairs.rebuild": rebuild_pairs,
    "probes.run": run_probes,
    report_files.JOB: report_files.make,
    webhooks_actions.DELIVER_JOB: webhooks_actions.deliver,
}

DAY_SECONDS = 24 * 3600.0


def periodic(settings: Settings) -> dict[str, float]:
    """Kinds queued again once their last job is this many seconds old."""
    return {"jobs.prune": DAY_SECONDS, "probes.run": settings.probe_every_hours * 3600.0}

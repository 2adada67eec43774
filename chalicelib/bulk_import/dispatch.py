"""Use case: the scheduled ``bulk_insert`` dispatcher.

Every minute it reads the active-jobs index page by page (jobs queued, in progress, or finished
but not yet published) and sends each job nobody holds a live lease on, and that is not already
queued, to the bulk-jobs queue; ``bulk_worker`` runs one job per message with the existing lease
and checkpoints (``chalicelib/bulk_import/insert.py``). A job SQS refused stays unmarked and is
queued by the next run; a job queued twice meets its own lease: no row is inserted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from chalicelib.bulk_import.domain import Job
from chalicelib.bulk_import.ports import JobStore
from chalicelib.observability import logger, metrics
from chalicelib.platform.queues import DispatchMarks, WorkItem, WorkQueue, queue_units


@dataclass(frozen=True)
class JobDispatchOptions:
    """Tunables of a dispatch (defaults suit AWS; tests shrink them)."""

    page_size: int = 100
    # A queued job is not queued again while marked: the worker clears the mark when it is done
    # with the job (or failed for the last time); the expiry only bounds a mark left behind.
    mark_ttl_seconds: int = 6 * 3600


def _pages(jobs: Iterator[Job], size: int) -> Iterator[list[Job]]:
    while page := list(islice(jobs, size)):
        yield page


def dispatch_jobs(
    jobs: JobStore,
    queue: WorkQueue,
    marks: DispatchMarks,
    now_ms: Callable[[], int],
    options: JobDispatchOptions | None = None,
    time_is_up: Callable[[], bool] = lambda: False,
    pending: list[str] | None = None,
) -> dict[str, Any]:
    """Queue every job that needs a worker once; return the dispatch summary.

    Stops between pages once ``time_is_up()``; the summary's ``complete`` says whether every
    page was read. ``pending`` collects the jobs queued now or before. Raises
    ``DependencyUnavailable`` when DynamoDB or the queue cannot be reached at all.
    """
    options = options or JobDispatchOptions()
    found = leased = dispatched = already_queued = refused = 0
    complete = True
    for page in _pages(jobs.active(options.page_size), options.page_size):
        if time_is_up():
            complete = False  # the pages read so far are marked: the next run goes on
            break
        found += len(page)
        now = now_ms()
        free = [job for job in page if job.lease_expires_ms <= now]
        leased += len(page) - len(free)
        if pending is not None:
            pending.extend(job.job_id for job in free)
        queued = queue_units(
            queue,
            marks,
            {job.job_id: WorkItem(job.user_id, job.job_id) for job in free},
            options.mark_ttl_seconds,
        )
        dispatched += queued.dispatched
        already_queued += queued.already_queued
        refused += queued.refused
    if refused:
        logger.warning(
            "SQS refused some bulk jobs; the next run queues them", extra={"refused": refused}
        )
    metrics.add_metric(name="BulkJobsDispatched", unit="Count", value=dispatched)
    return {
        "queue": queue.name,
        "jobs_found": found,
        "leased": leased,
        "dispatched": dispatched,
        "already_queued": already_queued,
        "refused": refused,
        "complete": complete,
    }

"""Use case: the scheduled bulk insert.

One run finds jobs that need work in the active index, takes each with a lease, and works
through its rows in chunks written by a small thread pool. After every chunk, in row order, it
checkpoints the next row and the absolute counts (conditional on still holding the lease, which
the checkpoint renews), so a run that stops near its time limit or dies is continued by a later
run: rows after the checkpoint are written again, and the deterministic book ids make those
rewrites recognise their own earlier inserts, so no row is inserted or counted twice. A chunk
that DynamoDB keeps throttling (``Throttled``) stops its job the same way, at the last
checkpoint, with no row failed; the run goes on with other jobs.

A finished job's counts are then published to the user's Redis status record exactly once; if
Redis is down the job stays in the active index, unpublished, and a later run publishes it.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.books.domain import Book
from chalicelib.bulk_import.domain import (
    COMPLETED,
    FINISHED,
    MAX_CHUNK_ROWS,
    RETENTION_DAYS,
    Job,
    LeaseLost,
    RowError,
    RowPlan,
    iter_payloads,
    plan_rows,
)
from chalicelib.bulk_import.ports import BulkWriter, JobStore, StatusStore, UploadStore
from chalicelib.config import Settings
from chalicelib.observability import logger, metrics
from chalicelib.platform.clock import now_iso, utc_now
from chalicelib.platform.errors import BadRequest, DependencyUnavailable, NotFound, Throttled
from chalicelib.platform.ids import book_id_for_row


class Budget(Protocol):
    """How much time the run has left (``chalicelib.platform.deadline.Deadline``)."""

    def near(self) -> bool:
        """True when no new work should start."""


@dataclass
class BulkDeps:
    """The adapters a run uses."""

    jobs: JobStore
    uploads: UploadStore
    writer: BulkWriter
    status: StatusStore


def _epoch_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class BulkOptions:
    """Tuning knobs (defaults suit the Lambda; tests shrink the lease and inject a clock)."""

    chunk_rows: int = Settings.bulk_chunk_rows
    workers: int = Settings.bulk_workers
    lease_ms: int = 60_000
    max_attempts: int = 5
    jobs_per_query: int = 25
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    now_ms: Callable[[], int] = _epoch_ms


@dataclass
class RunSummary:
    """What one run did (returned to the scheduler and logged)."""

    jobs_claimed: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    jobs_published: int = 0
    jobs_unpublished: int = 0
    # Stopped at a checkpoint for a later run: near the time limit, or throttled (counted
    # again in jobs_throttled).
    jobs_resumable: int = 0
    jobs_throttled: int = 0
    rows_ok: int = 0
    rows_failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChunkResult:
    """The outcome of one chunk: the row after it and its counts."""

    next_row: int
    ok: int
    failed: int


def _expiry() -> dt.datetime:
    return utc_now() + dt.timedelta(days=RETENTION_DAYS)


def _chunks(plans: list[RowPlan], start: int, size: int) -> Iterator[list[RowPlan]]:
    for first in range(start, len(plans), size):
        yield plans[first : first + size]


class BulkInsertRun:
    """One invocation of the scheduled insert."""

    def __init__(self, deps: BulkDeps, budget: Budget, options: BulkOptions | None = None):
        self.deps = deps
        self.budget = budget
        self.options = options or BulkOptions()
        self.summary = RunSummary()
        self._seen: set[str] = set()
        self._status_down = False

    def run(self) -> dict[str, Any]:
        """Work until no claimable job is left or the time budget is near its end.

        The active index is read page by page, so jobs leased by another run (or waiting for
        Redis) never hide the ones behind them; it is read again while new jobs keep turning up.
        """
        while not self.budget.near():
            found_new = False
            for job in self.deps.jobs.active(self.options.jobs_per_query):
                if self.budget.near():
                    break
                if job.job_id in self._seen:
                    continue
                found_new = True
                self._seen.add(job.job_id)
                if self._status_down and job.status in FINISHED:
                    self.summary.jobs_unpublished += 1
                    continue  # Redis is down for this run: leave it for a later one
                self._try(job)
            if not found_new:
                break
        self._emit_metrics()
        return self.summary.to_dict()

    def run_job(self, user_id: str, job_id: str) -> dict[str, Any]:
        """Work on one job (a ``bulk_worker`` message) until it is done or the budget is near.

        A job that is gone, published already, or leased by another run is left alone: a
        message delivered twice changes nothing. ``DependencyUnavailable`` when the job cannot
        be read (the message is retried). Returns the summary of this run so far.
        """
        job = self.deps.jobs.get(user_id, job_id)
        if job is None or (job.status in FINISHED and job.published):
            logger.info("bulk job needs no work", extra={"job_id": job_id, "found": bool(job)})
        elif not self.budget.near():
            self._seen.add(job.job_id)
            self._try(job)
        self._emit_metrics()
        return self.summary.to_dict()

    def _try(self, job: Job) -> None:
        claimed = self.deps.jobs.claim(
            job, self.options.owner, self.options.now_ms(), self.options.lease_ms
        )
        if claimed is not None:
            self.summary.jobs_claimed += 1
            self._work(claimed)

    # --- one job --------------------------------------------------------------------------------

    def _work(self, job: Job) -> None:
        owner = self.options.owner
        try:
            if job.status not in FINISHED:
                job = self._advance(job)
            if job.status in FINISHED:
                self._publish(job)
        except LeaseLost:
            logger.warning(
                "lease lost, another run continues the job", extra={"job_id": job.job_id}
            )
        except Exception:
            logger.exception(
                "bulk job run failed; a later run retries it",
                extra={"job_id": job.job_id, "attempts": job.attempts},
            )
            try:
                self.deps.jobs.release(job, owner, clean=False)
            except Exception:  # the lease then simply expires
                logger.exception("could not release the lease", extra={"job_id": job.job_id})

    def _advance(self, job: Job) -> Job:
        """Process rows; return the job, finished if all rows are done (lease still held)."""
        owner = self.options.owner
        if job.attempts > self.options.max_attempts:
            return self._give_up(job, f"gave up after {job.attempts - 1} failed attempts")
        if job.started_at is None:
            job = self.deps.jobs.mark_started(job, owner, now_iso())
        try:
            plans = list(plan_rows(iter_payloads(job.fmt, self.deps.uploads.get(job.source_key))))
        except NotFound:
            return self._give_up(job, "the staged upload expired before it was processed")
        except BadRequest as exc:
            return self._give_up(job, f"the staged upload is unreadable: {exc.message}")
        try:
            reached = self._process(job, plans)
        except Throttled as exc:
            # Throttling is neither a property of the rows nor a failed attempt: no row is
            # failed, and the next run writes the chunk again from the last checkpoint.
            logger.warning(
                "DynamoDB stayed throttled; a later run continues the job",
                extra={"job_id": job.job_id, "error": exc.message},
            )
            self.summary.jobs_throttled += 1
            return self._pause(job)
        if reached < len(plans):
            logger.info("bulk job paused near the time limit", extra={"job_id": job.job_id})
            return self._pause(job)
        done = self.deps.jobs.finish(job, owner, COMPLETED, now_iso(), _expiry())
        self.summary.jobs_completed += 1
        metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
        if done.started_at and done.completed_at:
            took = dt.datetime.fromisoformat(done.completed_at) - dt.datetime.fromisoformat(
                done.started_at
            )
            metrics.add_metric(
                name="JobDurationMs", unit="Milliseconds", value=took.total_seconds() * 1000
            )
        logger.info(
            "bulk job completed",
            extra={
                "job_id": done.job_id,
                "rows_ok": done.success_count,
                "rows_failed": done.failure_count,
                "total_rows": done.total_rows,
            },
        )
        return done

    def _pause(self, job: Job) -> Job:
        """Stop at the last checkpoint and hand the lease back: a later run continues the job.

        A clean release resets the attempt counter, so pausing never counts towards giving up.
        """
        self.deps.jobs.release(job, self.options.owner, clean=True)
        self.summary.jobs_resumable += 1
        return job

    def _give_up(self, job: Job, reason: str) -> Job:
        logger.error("bulk job failed", extra={"job_id": job.job_id, "reason": reason})
        self.summary.jobs_failed += 1
        return self.deps.jobs.fail(job, self.options.owner, now_iso(), _expiry(), reason)

    def _process(self, job: Job, plans: list[RowPlan]) -> int:
        """Write chunks from the checkpoint on; return the row reached (checkpointed)."""
        opts = self.options
        size = max(1, min(opts.chunk_rows, MAX_CHUNK_ROWS))
        next_row, ok, failed = job.next_row, job.success_count, job.failure_count
        chunks = _chunks(plans, job.next_row, size)
        with ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="bulk") as pool:
            in_flight: deque[Future[ChunkResult]] = deque()

            def fill() -> None:
                while len(in_flight) < 2 * opts.workers and not self.budget.near():
                    chunk = next(chunks, None)
                    if chunk is None:
                        return
                    in_flight.append(pool.submit(self._write_chunk, job, chunk))

            fill()
            try:
                while in_flight:
                    result = in_flight.popleft().result()
                    next_row, ok, failed = result.next_row, ok + result.ok, failed + result.failed
                    self.deps.jobs.checkpoint(
                        job, opts.owner, next_row, ok, failed, opts.now_ms() + opts.lease_ms
                    )
                    self.summary.rows_ok += result.ok
                    self.summary.rows_failed += result.failed
                    fill()
            finally:
                for future in in_flight:
                    future.cancel()
        return next_row

    def _write_chunk(self, job: Job, chunk: list[RowPlan]) -> ChunkResult:
        stamp = now_iso()
        books = [
            (
                p.row,
                Book(
                    book_id=book_id_for_row(job.job_id, p.row),
                    user_id=job.user_id,
                    fields=p.fields,
                    created_at=stamp,
                    updated_at=stamp,
                ),
            )
            for p in chunk
            if p.fields is not None
        ]
        outcome = self.deps.writer.write(books) if books else {}
        isbns = {p.row: p.isbn for p in chunk}
        errors = [RowError(p.row, p.isbn, p.reason) for p in chunk if p.reason is not None]
        errors += [
            RowError(row, isbns[row], reason)
            for row, reason in outcome.items()
            if reason is not None
        ]
        # Errors are stored before the checkpoint counts them, so a crash loses none.
        self.deps.jobs.put_errors(job.job_id, errors, _expiry())
        return ChunkResult(next_row=chunk[-1].row, ok=len(chunk) - len(errors), failed=len(errors))

    # --- publishing -----------------------------------------------------------------------------

    def _publish(self, job: Job) -> None:
        if not job.published:
            try:
                self.deps.status.publish(
                    job.user_id, job.job_id, job.success_count, job.failure_count, now_iso()
                )
            except DependencyUnavailable:
                self._status_down = True
                logger.warning(
                    "status store down; the job stays unpublished for a later run",
                    extra={"job_id": job.job_id},
                )
                self.summary.jobs_unpublished += 1
                self.deps.jobs.release(job, self.options.owner, clean=True)
                return
        self.deps.jobs.mark_published(job)
        self.summary.jobs_published += 1

    def _emit_metrics(self) -> None:
        metrics.add_metric(name="BooksInserted", unit="Count", value=self.summary.rows_ok)
        metrics.add_metric(name="BooksFailed", unit="Count", value=self.summary.rows_failed)
        metrics.add_metric(name="JobsThrottled", unit="Count", value=self.summary.jobs_throttled)


def run_bulk_insert(
    deps: BulkDeps, budget: Budget, options: BulkOptions | None = None
) -> dict[str, Any]:
    """Run the scheduled insert once; return its summary."""
    return BulkInsertRun(deps, budget, options).run()

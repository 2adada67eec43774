"""Use cases: ask for a catalogue export, run one in ``export_worker``, download a small one now.

**Asking** (``request_export``) stores a queued export job, then queues one message
(``{"user_id", "job_id"}``) on ``<prefix>-exports``; if SQS refuses it the job is marked failed
at once and the request is a 503 (nothing waits for a message that never comes).

**Running** (``run_export``, one message of ``export_worker``) is idempotent by job id:

* a completed job (a redelivered message) is left as it is: one read, nothing written;
* otherwise the worker takes the job with a lease (``ExportJobStore.claim``: not completed,
  nobody holding a live lease) for its remaining Lambda time plus ``lease_margin_ms``. A job
  another live worker holds makes this delivery fail (``ExportBusy``) and come back later, by
  which time the job is done or its holder is dead (its lease expired); a job a dead worker
  left ``processing`` is therefore taken over and started again from the beginning;
* the catalogue is read ``page_size`` books at a time and streamed into S3 under the job's own
  key (the same key on every attempt: a job never has two files), never held whole;
* on success the job completes with the key, size and book count. On failure the upload is
  aborted (``ExportFiles``) and the lease released, and the message fails so SQS delivers it
  again after a backoff; at its last receive (``last_attempt``) the job is marked failed with
  a message a person can act on, and the message goes to the dead-letter queue (a retry from
  ``POST /admin/dlq/{entry_id}/retry`` runs the job again).

The worker stops before Lambda's time runs out (``ExportTooSlow`` once the deadline is near,
checked between pages), so a too-large catalogue fails cleanly rather than dying mid-file.

The PDF reads the catalogue twice: once to count it (``CatalogueTally``), once to draw its table
(``CataloguePdf``, fed lazily), into a temporary file that is then uploaded (in parts above
5 MiB).

**Downloading now** (``catalogue_csv``, ``GET /books/export.csv``) answers the CSV in the API's
response while it is small and quick: past ``DIRECT_DOWNLOAD_CHARS``, or once reading it has
taken ``DIRECT_DOWNLOAD_SECONDS`` (``direct_download_deadline``: API Gateway cuts a request at
29 s), it stops and answers the 413 that names ``POST /books/export``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.books.domain import BookFields
from chalicelib.bulk_import.domain import COMPLETED, QUEUED
from chalicelib.config import Settings
from chalicelib.exports.catalogue import CatalogueTally
from chalicelib.exports.domain import (
    FORMATS,
    GAVE_UP_ERROR,
    ITEM_RETENTION_DAYS,
    TOO_SLOW_ERROR,
    ExportBusy,
    ExportFile,
    ExportJob,
    ExportTooSlow,
    attachment,
    download_filename,
)
from chalicelib.exports.file_formats import csv_chunks, json_chunks
from chalicelib.exports.ports import BookPages, CataloguePdf, ExportFiles, ExportJobStore, Owners
from chalicelib.exports.schemas import ExportRequest
from chalicelib.observability import logger, metrics
from chalicelib.platform.clock import iso, utc_now
from chalicelib.platform.deadline import Deadline, remaining_ms
from chalicelib.platform.errors import DependencyUnavailable, PayloadTooLarge
from chalicelib.platform.ids import new_ulid
from chalicelib.platform.queues import WorkItem, WorkQueue
from chalicelib.platform.response_size import escaped_length

# Books per DynamoDB query while exporting (a page of ~500 KB for ordinary books).
PAGE_SIZE = 500
# The direct download answers at most this many characters of CSV once escaped into Lambda's
# JSON response (platform/response_size.py: an emoji takes 12 characters there): Lambda answers
# at most 6 MB, and the rest is margin for the envelope and headers, like the errors page.
DIRECT_DOWNLOAD_CHARS = 4 * 1024 * 1024
# How long the direct download may read: API Gateway ends every request at 29 s, whatever the
# API Lambda's timeout (30 s), so a read still going at 20 s stops before its next page and
# answers the 413: the page in flight (well under a second in AWS) and the answer fit in the 9 s
# left.
DIRECT_DOWNLOAD_SECONDS = 20
# Kept back from a Lambda context's remaining time when that is shorter than the above.
DIRECT_DOWNLOAD_MARGIN_MS = 5_000
TOO_LARGE_TO_DOWNLOAD = (
    "the catalogue is too large to download in one answer; ask for an export with "
    'POST /books/export {"format": "csv"} and download it from its job'
)
QUEUE_REFUSED_ERROR = "the export could not be queued; ask again"


@dataclass(frozen=True)
class ExportDeps:
    """What the export use cases talk to. ``pdf`` gives the renderer, only for a PDF export
    (it imports reportlab, which the API never loads)."""

    jobs: ExportJobStore
    files: ExportFiles
    books: BookPages
    queue: WorkQueue
    owners: Owners
    pdf: Callable[[], CataloguePdf]


@dataclass(frozen=True)
class ExportPolicy:
    """The run's tunables: the books read per query, how much longer than the worker's own
    time its lease lasts, how long a finished job's item is kept, and the delay before a
    failed export's 2nd delivery (doubling per receive; ``EXPORT_RETRY_BASE_SECONDS``)."""

    retry_base_seconds: float = Settings.export_retry_base_seconds
    page_size: int = PAGE_SIZE
    lease_margin_ms: int = 30_000
    item_retention_days: int = ITEM_RETENTION_DAYS


# --- asking ----------------------------------------------------------------------------------


def request_export(deps: ExportDeps, user_id: str, request: ExportRequest) -> ExportJob:
    """Store a queued export job and queue its message; ``DependencyUnavailable`` (503) when
    DynamoDB or SQS fails (a job SQS refused is marked failed: it never runs)."""
    now = utc_now()
    job = ExportJob(
        job_id=new_ulid(),
        user_id=user_id,
        fmt=request.format,
        status=QUEUED,
        created_at=iso(now),
    )
    expires = now + dt.timedelta(days=ITEM_RETENTION_DAYS)
    deps.jobs.create(job, expires)
    try:
        refused = deps.queue.send([WorkItem(user_id=user_id, job_id=job.job_id).body()])
    except DependencyUnavailable:
        refused = [0]
    if refused:
        deps.jobs.fail(job, "", QUEUE_REFUSED_ERROR, utc_now(), expires)
        raise DependencyUnavailable("the export queue is unavailable; nothing was queued")
    logger.info("export queued", extra={"job_id": job.job_id, "format": job.fmt})
    return job


# --- reading the catalogue -------------------------------------------------------------------


def catalogue(
    pages: BookPages, user_id: str, page_size: int, deadline: Deadline | None = None
) -> Iterator[BookFields]:
    """Every book of the user, in key order, read ``page_size`` at a time, lazily.

    ``ExportTooSlow`` before a page is read once ``deadline`` is near.
    """
    after: dict[str, Any] | None = None
    while True:
        if deadline is not None and deadline.near():
            raise ExportTooSlow(f"stopped after reading up to {after}")
        books, after = pages.list(user_id, page_size, after, None, None)
        for book in books:
            yield book.fields
        if after is None:
            return


@dataclass
class _Count:
    books: int = 0


def _counted(books: Iterable[BookFields], count: _Count) -> Iterator[BookFields]:
    for book in books:
        count.books += 1
        yield book


# --- running ---------------------------------------------------------------------------------


def export_deadline(context: Any) -> Deadline:
    """When a worker stops starting pages: a tenth of its Lambda time (1 to 60 s) is kept back
    to finish the file in flight (the last part, the PDF's upload, the job's update)."""
    remaining = remaining_ms(context)
    return Deadline.from_context(context, safety_ms=min(60_000, max(1_000, remaining // 10)))


@dataclass
class ExportSummary:
    """What one worker invocation did (logged as "export worker finished")."""

    completed: int = 0
    already_done: int = 0
    missing: int = 0
    failed: int = 0
    gave_up: int = 0
    books: int = 0
    bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        """The counts by name."""
        return dict(vars(self))


@dataclass
class ExportRun:
    """One worker invocation: its dependencies, its deadline and its lease owner's name."""

    deps: ExportDeps
    policy: ExportPolicy
    deadline: Deadline
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    summary: ExportSummary = field(default_factory=ExportSummary)


def run_export(run: ExportRun, user_id: str, job_id: str, *, last_attempt: bool) -> str:
    """Make the file of one export job; its outcome: ``completed``, ``already_done`` or
    ``missing`` (no such job: its item expired, nothing to do).

    Raises ``ExportBusy`` when another live worker holds the job, and whatever made the export
    fail (after aborting the upload and releasing the lease, or at ``last_attempt`` after
    marking the job failed).
    """
    deps = run.deps
    job = deps.jobs.get(user_id, job_id)
    if job is None:
        run.summary.missing += 1
        logger.warning("export job not found", extra={"job_id": job_id})
        return "missing"
    if job.status == COMPLETED:
        run.summary.already_done += 1
        logger.info("export already completed", extra={"job_id": job_id})
        return "already_done"
    now_ms = int(time.time() * 1000)
    lease_ms = max(0, run.deadline.remaining_ms()) + run.deadline.safety_ms
    claimed = deps.jobs.claim(job, run.owner, now_ms, lease_ms + run.policy.lease_margin_ms)
    if claimed is None:
        raise ExportBusy(f"another worker is exporting job {job_id}")
    started = time.monotonic()
    try:
        file = _produce(run, claimed)
    except Exception as exc:
        _after_failure(run, claimed, exc, last_attempt)
        raise
    completed = utc_now()
    expires = completed + dt.timedelta(days=run.policy.item_retention_days)
    deps.jobs.complete(claimed, run.owner, file, completed, expires)
    _measure(run, claimed, file, (time.monotonic() - started) * 1000)
    return "completed"


def _produce(run: ExportRun, job: ExportJob) -> ExportFile:
    """Write the job's file to S3; its key, size and book count."""
    deps, fmt = run.deps, FORMATS[job.fmt]
    key = deps.files.key_for(job.user_id, job.job_id, fmt.extension)
    disposition = attachment(download_filename(job.fmt, utc_now().date()))
    count = _Count()
    books = _counted(catalogue(deps.books, job.user_id, run.policy.page_size, run.deadline), count)
    if job.fmt == "pdf":
        size = _pdf(run, job, key, disposition, books)
    else:
        chunks = csv_chunks(books) if job.fmt == "csv" else json_chunks(books)
        size = deps.files.upload_stream(key, chunks, fmt.media_type, disposition)
    return ExportFile(key=key, size=size, record_count=count.books)


def _pdf(
    run: ExportRun, job: ExportJob, key: str, disposition: str, books: Iterable[BookFields]
) -> int:
    """Count the catalogue (first pass), draw it into a temporary file as the second pass reads
    it, then upload the file."""
    deps = run.deps
    tally = CatalogueTally()
    for fields in catalogue(deps.books, job.user_id, run.policy.page_size, run.deadline):
        tally.add(fields)
    owner = deps.owners.get(job.user_id)
    render = deps.pdf()
    with tempfile.TemporaryFile(prefix="export-", suffix=".pdf") as out:
        pages = render(
            out,
            owner=owner.name if owner else "",
            generated_at=iso(utc_now()),
            tally=tally,
            books=books,
        )
        logger.info("export pdf drawn", extra={"job_id": job.job_id, "pages": pages})
        return deps.files.upload_file(key, out, FORMATS["pdf"].media_type, disposition)


def _after_failure(run: ExportRun, job: ExportJob, exc: Exception, last_attempt: bool) -> None:
    """Free the job for the next delivery, or at the last one mark it failed (both best effort:
    the message fails either way)."""
    deps = run.deps
    try:
        if not last_attempt:
            run.summary.failed += 1
            deps.jobs.release(job, run.owner)
            return
        run.summary.gave_up += 1
        reason = TOO_SLOW_ERROR if isinstance(exc, ExportTooSlow) else GAVE_UP_ERROR
        now = utc_now()
        expires = now + dt.timedelta(days=run.policy.item_retention_days)
        deps.jobs.fail(job, run.owner, reason, now, expires)
        metrics.add_metric(name="ExportsFailed", unit="Count", value=1)
        logger.error(
            "export failed for good",
            extra={"job_id": job.job_id, "reason": reason, "error": f"{type(exc).__name__}"},
        )
    except Exception:
        logger.exception("could not record the export's failure", extra={"job_id": job.job_id})


def _measure(run: ExportRun, job: ExportJob, file: ExportFile, duration_ms: float) -> None:
    run.summary.completed += 1
    run.summary.books += file.record_count
    run.summary.bytes += file.size
    metrics.add_metric(name="ExportsCompleted", unit="Count", value=1)
    metrics.add_metric(name="ExportedBooks", unit="Count", value=file.record_count)
    metrics.add_metric(name="ExportBytes", unit="Bytes", value=file.size)
    metrics.add_metric(name="ExportDurationMs", unit="Milliseconds", value=duration_ms)
    logger.info(
        "export completed",
        extra={
            "job_id": job.job_id,
            "format": job.fmt,
            "books": file.record_count,
            "bytes": file.size,
            "duration_ms": round(duration_ms, 1),
            "attempt": job.attempts,
        },
    )


# --- the direct download ---------------------------------------------------------------------


def direct_download_deadline(context: Any, clock: Callable[[], float] = time.monotonic) -> Deadline:
    """When the direct download stops reading: ``DIRECT_DOWNLOAD_SECONDS`` from now, or sooner
    when the Lambda ``context`` has less time left than that plus ``DIRECT_DOWNLOAD_MARGIN_MS``
    (without a Lambda clock, the seconds alone). ``clock``: monotonic seconds (tests fake it)."""
    budget_ms = min(
        DIRECT_DOWNLOAD_SECONDS * 1000, remaining_ms(context) - DIRECT_DOWNLOAD_MARGIN_MS
    )
    return Deadline(ends_at=clock() + max(0.0, budget_ms) / 1000, safety_ms=0, clock=clock)


def catalogue_csv(
    pages: BookPages, user_id: str, page_size: int = PAGE_SIZE, deadline: Deadline | None = None
) -> str:
    """The whole catalogue as the export's CSV text, if it fits in one Lambda response.

    ``PayloadTooLarge`` (413, naming ``POST /books/export``) as soon as the text, escaped as
    Lambda's JSON response escapes it, passes ``DIRECT_DOWNLOAD_CHARS``: nothing past that
    limit (and one page) is read or held; and the same 413 when ``deadline`` comes before the
    last page is read (``direct_download_deadline``): a catalogue too slow to read in one
    request is too big to answer directly, and the client gets an answer, not a gateway timeout.
    """
    parts: list[str] = []
    size = 0
    try:
        for chunk in csv_chunks(catalogue(pages, user_id, page_size, deadline)):
            text = chunk.decode()
            size += escaped_length(text)
            if size > DIRECT_DOWNLOAD_CHARS:
                raise PayloadTooLarge(TOO_LARGE_TO_DOWNLOAD)
            parts.append(text)
    except ExportTooSlow:
        logger.info(
            "direct download out of time",
            extra={"user_id": user_id, "characters_read": size, "limit_s": DIRECT_DOWNLOAD_SECONDS},
        )
        raise PayloadTooLarge(TOO_LARGE_TO_DOWNLOAD) from None
    return "".join(parts)

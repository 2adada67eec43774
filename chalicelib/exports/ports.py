"""The interfaces the export use cases depend on. Adapters implement them; tests may wrap them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, BinaryIO, Protocol

from chalicelib.accounts.domain import User
from chalicelib.books.domain import Book, BookFields
from chalicelib.exports.catalogue import CatalogueTally
from chalicelib.exports.domain import ExportFile, ExportJob


class ExportJobStore(Protocol):
    """Export jobs in the jobs table: created, leased to one worker, finished."""

    def create(self, job: ExportJob, expires_at: dt.datetime) -> None:
        """Store a new queued job."""

    def get(self, user_id: str, job_id: str) -> ExportJob | None:
        """The user's export job, or None (also for a bulk job's id or another user's job)."""

    def among_newest(self, user_id: str, count: int) -> list[ExportJob]:
        """The export jobs among the user's newest ``count`` jobs of any type, newest first."""

    def claim(self, job: ExportJob, owner: str, now_ms: int, lease_ms: int) -> ExportJob | None:
        """Lease a job that is not completed and not held by a live lease; None otherwise."""

    def complete(
        self,
        job: ExportJob,
        owner: str,
        file: ExportFile,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob:
        """Mark the job completed with its file; ``LeaseLost`` if the lease is not ours."""

    def release(self, job: ExportJob, owner: str) -> None:
        """Give the lease back (the next delivery may start over at once)."""

    def fail(
        self,
        job: ExportJob,
        owner: str,
        error: str,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob | None:
        """Mark the job failed with ``error``, unless another worker holds it or it completed
        meanwhile (then None)."""


class ExportFiles(Protocol):
    """Where export files are kept (encrypted at rest, deleted by a lifecycle rule)."""

    def key_for(self, user_id: str, job_id: str, extension: str) -> str:
        """``<export_prefix>/<user_id>/<job_id>.<extension>``."""

    def upload_stream(
        self, key: str, chunks: Iterable[bytes], media_type: str, disposition: str
    ) -> int:
        """Store the bytes of ``chunks`` as they come; return the size. A failed upload leaves
        nothing behind (a multipart upload is aborted)."""

    def upload_file(self, key: str, file: BinaryIO, media_type: str, disposition: str) -> int:
        """Store a seekable file from its start; return its size. As ``upload_stream`` on
        failure."""

    def presign(self, key: str, seconds: int) -> str:
        """A GET link to the file, valid ``seconds`` (signed locally, no request)."""


class BookPages(Protocol):
    """A user's catalogue read page by page (``BookRepository.list`` of the books feature)."""

    def list(
        self,
        user_id: str,
        limit: int,
        after: dict[str, Any] | None,
        author: str | None,
        genre: str | None,
    ) -> tuple[list[Book], dict[str, Any] | None]:
        """A page of books in key order and the position to continue from (None at the end)."""


class Owners(Protocol):
    """Who owns a catalogue (the PDF's title page names them)."""

    def get(self, user_id: str) -> User | None:
        """The user, or None."""


class CataloguePdf(Protocol):
    """The printable catalogue (``exports/adapters/pdf_catalogue.py``)."""

    def __call__(
        self,
        out: BinaryIO,
        *,
        owner: str,
        generated_at: str,
        tally: CatalogueTally,
        books: Iterable[BookFields],
    ) -> int:
        """Write the PDF to ``out``; return the pages written."""

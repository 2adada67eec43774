"""PynamoDB models: the one definition of every DynamoDB table.

Table names depend on the stage, so models are declared with a placeholder and bound to the
configured names by ``bind_models()`` (called lazily by the repositories, never at import).
The local bootstrap and the CloudFormation template derive their table definitions from these
models (``infra/resources.py``), so key schemas and indexes are written exactly once.
"""

from __future__ import annotations

import functools
from typing import ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import get_settings


class BoundModel(Model):
    """A model whose table name comes from ``Settings.tables.<table_key>``."""

    table_key: ClassVar[str] = ""

    class Meta:
        table_name = "unbound"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"


# --- users table: a user item and an email-claim item that makes the email unique -----------


class UserModel(BoundModel):
    """``pk = USER#<user_id>``: the user's profile and password hash."""

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()


class EmailClaimModel(BoundModel):
    """``pk = EMAIL#<email>``: written with the user in one transaction, so an email is unique."""

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


# --- books table: the books and an ISBN-claim item per book, both under the owner's key -------


class BookModel(BoundModel):
    """``(user_id, sk = BOOK#<book_id>)``: one book of one user's catalogue."""

    table_key = "books"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    book_id = UnicodeAttribute()
    title = UnicodeAttribute()
    author = UnicodeAttribute()
    isbn = UnicodeAttribute()
    published_year = NumberAttribute(null=True)
    genre = UnicodeAttribute(null=True)
    pages = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class IsbnClaimModel(BoundModel):
    """``(user_id, sk = ISBN#<isbn13>)``: exists while a book of that user has that ISBN.

    Written in the same transaction as the book with ``attribute_not_exists``, which is what
    makes an ISBN unique per catalogue even when two requests or two bulk jobs race.
    """

    table_key = "books"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    book_id = UnicodeAttribute()


# --- jobs: bulk submissions and their per-row errors -----------------------------------------


class ActiveJobsIndex(GlobalSecondaryIndex["JobModel"]):  # type: ignore[no-untyped-call]
    """Sparse index of the jobs that still need work (``queue_state`` set), oldest first."""

    class Meta:
        index_name = "active-jobs"
        projection = AllProjection()

    queue_state = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class JobModel(BoundModel):
    """``(user_id, job_id)``: one bulk submission, its lease, checkpoint and counts."""

    table_key = "jobs"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    # "active" while queued/processing or while counts await publishing; removed afterwards.
    queue_state = UnicodeAttribute(null=True)
    active_jobs = ActiveJobsIndex()
    source_key = UnicodeAttribute()
    content_type = UnicodeAttribute()
    total_rows = NumberAttribute()
    next_row = NumberAttribute(default=0)
    success_count = NumberAttribute(default=0)
    failure_count = NumberAttribute(default=0)
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    published = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class JobErrorModel(BoundModel):
    """``(job_id, row)``: why one row of a bulk job failed. Keyed by row, so rewriting is safe."""

    table_key = "job_errors"

    class Meta(BoundModel.Meta):
        pass

    job_id = UnicodeAttribute(hash_key=True)
    row = NumberAttribute(range_key=True)
    isbn = UnicodeAttribute(null=True)
    reason = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


# --- reports: the history behind GET /reports, and deliveries (idempotency + dead letters) ----


class ReportModel(BoundModel):
    """``(user_id, report_id)``: a report that was rendered, staged and (once sent) delivered."""

    table_key = "reports"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    success_count = NumberAttribute()
    failure_count = NumberAttribute()
    job_ids = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)


class DeadLetterIndex(GlobalSecondaryIndex["DeliveryModel"]):  # type: ignore[no-untyped-call]
    """Sparse index of the deliveries that gave up (``dead_letter`` set), oldest failure first."""

    class Meta:
        index_name = "dead-letters"
        projection = AllProjection()

    dead_letter = UnicodeAttribute(hash_key=True)
    failed_at = UnicodeAttribute(range_key=True)


class DeliveryModel(BoundModel):
    """``snapshot_id``: the idempotency and retry record of one status snapshot's report.

    Moved ``pending``/``failed`` -> ``sending`` by a conditional write before SES is called and
    to ``sent`` (with the SES message id) right after, so a later run never sends it again.
    """

    table_key = "deliveries"

    class Meta(BoundModel.Meta):
        pass

    snapshot_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    report_id = UnicodeAttribute()
    state = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    next_attempt_at = NumberAttribute(default=0)
    lease_until = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Set ("1") only while the delivery is in the dead-letter list: a sparse index.
    dead_letter = UnicodeAttribute(null=True)
    dead_letters = DeadLetterIndex()
    expires_at = TTLAttribute(null=True)


ALL_MODELS: tuple[type[BoundModel], ...] = (
    UserModel,
    EmailClaimModel,
    BookModel,
    IsbnClaimModel,
    JobModel,
    JobErrorModel,
    ReportModel,
    DeliveryModel,
)


@functools.lru_cache(maxsize=1)
def bind_models() -> None:
    """Point every model at the configured table names and region (idempotent, cached)."""
    settings = get_settings()
    for model in ALL_MODELS:
        model.Meta.table_name = getattr(settings.tables, model.table_key)
        model.Meta.region = settings.region
        # Drop a connection made for a previous binding (tests switch endpoints and names).
        model._connection = None


@functools.lru_cache(maxsize=1)
def transaction_connection() -> Connection:
    """One PynamoDB connection for transactions, reused across calls (its client is costly)."""
    bind_models()
    return Connection(region=get_settings().region)

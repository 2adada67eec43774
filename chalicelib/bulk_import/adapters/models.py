"""The bulk job tables: submissions (with lease, checkpoint and counts) and per-row errors."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.platform import job_index
from chalicelib.platform.adapters.dynamodb_models import BoundModel


class ActiveJobsIndex(GlobalSecondaryIndex["JobModel"]):  # type: ignore[no-untyped-call]
    """Sparse index of the jobs that still need work (``queue_state`` set), oldest first."""

    class Meta:
        index_name = "active-jobs"
        projection = AllProjection()

    queue_state = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class JobsByStateIndex(GlobalSecondaryIndex["JobModel"]):  # type: ignore[no-untyped-call]
    """Every job of either type by ``"<type>#<status>"``, newest first (``platform/job_index.py``).

    Keys only, so checkpoints (which change no key) write nothing to it; the admin search reads
    the items themselves by key.
    """

    class Meta:
        index_name = job_index.INDEX_NAME
        projection = KeysOnlyProjection()

    job_state = UnicodeAttribute(hash_key=True, attr_name=job_index.STATE_ATTRIBUTE)
    job_id = UnicodeAttribute(range_key=True)


class JobModel(BoundModel):
    """``(user_id, job_id)``: one bulk submission, its lease, checkpoint and counts.

    The table also holds catalogue exports (``chalicelib/exports/adapters/models.py``), told
    apart by ``job_type``: ``bulk_import`` here, absent on items written before exports existed.
    ``job_state`` (``"bulk_import#<status>"``) follows the status, for the ``jobs-by-state``
    index; items from before the index have none until their next change of status.
    """

    table_key = "jobs"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    job_type = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    # "active" while queued/processing or while counts await publishing; removed afterwards.
    queue_state = UnicodeAttribute(null=True)
    active_jobs = ActiveJobsIndex()
    job_state = UnicodeAttribute(null=True, attr_name=job_index.STATE_ATTRIBUTE)
    jobs_by_state = JobsByStateIndex()
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

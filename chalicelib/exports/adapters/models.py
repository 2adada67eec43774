"""Export jobs: items of the jobs table (``(user_id, job_id)``) with ``job_type = "export"``.

They share the table, its keys and its TTL with the bulk imports (``bulk_import/adapters/
models.py``) and are never in the ``active-jobs`` index (no ``queue_state``). They are in the
``jobs-by-state`` index (declared on the bulk import's model): ``job_state`` is
``"export#<status>"``, written with every change of status (``platform/job_index.py``).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.platform import job_index
from chalicelib.platform.adapters.dynamodb_models import BoundModel


class ExportJobModel(BoundModel):
    """One catalogue export: its format, its lease and, once completed, its file."""

    table_key = "jobs"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    job_type = UnicodeAttribute()
    status = UnicodeAttribute()
    job_state = UnicodeAttribute(null=True, attr_name=job_index.STATE_ATTRIBUTE)
    export_format = UnicodeAttribute()
    created_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute(null=True)
    file_size = NumberAttribute(null=True)
    record_count = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    lease_owner = UnicodeAttribute(null=True)
    lease_expires_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)

"""The report tables: the history behind ``GET /reports``, and deliveries (idempotency and
dead letters)."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.platform.adapters.dynamodb_models import BoundModel


class ReportModel(BoundModel):
    """``(user_id, report_id)``: a report SES accepted (``GET /reports``), or a record dropped.

    A sent report is written right after SES accepted the email, never before, so it is also the
    record that the send happened: a run that finds a claimed delivery with this item only
    cleans up. A dropped record (``status = "dropped"``, its ``reason``, no PDF, no ``sent_at``)
    is keyed by its snapshot id, which no delivery uses as a report id. Items without a
    ``status`` predate it and are sent reports.
    """

    table_key = "reports"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    report_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    s3_key = UnicodeAttribute(null=True)  # None for a dropped record (no PDF)
    success_count = NumberAttribute()
    failure_count = NumberAttribute()
    job_ids = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)  # "dropped"; absent: sent
    reason = UnicodeAttribute(null=True)


class DeadLetterIndex(GlobalSecondaryIndex["DeliveryModel"]):  # type: ignore[no-untyped-call]
    """Sparse index of the deliveries that gave up (``dead_letter`` set), oldest failure first."""

    class Meta:
        index_name = "dead-letters"
        projection = AllProjection()

    dead_letter = UnicodeAttribute(hash_key=True)
    failed_at = UnicodeAttribute(range_key=True)


class DeliveryModel(BoundModel):
    """``snapshot_id``: the idempotency and retry record of one status snapshot's report.

    Moved ``pending``/``failed`` -> ``sending`` by a conditional write before SES is called, so
    only one run sends it; SES's acceptance is recorded by the report's ``ReportModel`` item.
    ``message_id`` and ``sent_at`` are set only on ``sent`` deliveries of earlier releases.
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
    # A discarded dead letter: why, by which admin (user id), when.
    discard_reason = UnicodeAttribute(null=True)
    discarded_by = UnicodeAttribute(null=True)
    discarded_at = UnicodeAttribute(null=True)
    # Set ("1") only while the delivery is in the dead-letter list: a sparse index.
    dead_letter = UnicodeAttribute(null=True)
    dead_letters = DeadLetterIndex()
    expires_at = TTLAttribute(null=True)

"""The use cases of deliverability: SES events in (``ses_events``), suppressions for admins.

``record_notification`` takes one SNS message: it parses SES's event (``domain.parse_event``)
and records it per recipient, once (a redelivery changes nothing). A permanent bounce or a
complaint marks the recipient's address when it is a user's current address: from then on no
email of any kind goes to it (the mail worker and the reports check ``email_status``) until the
address changes or an admin clears the mark. A transient bounce, a delivery and a reject are
only recorded. A message that is not an SES event is logged and skipped, never raised: SNS
would retry it to no end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.deliverability.domain import MalformedEvent, parse_event
from chalicelib.deliverability.ports import Applied, EventLog, HeldReports, SuppressionList
from chalicelib.observability import logger, mask_email
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import NotFound

# Events are kept a month: long past SNS's retries, enough to answer "did SES deliver it?".
EVENT_RETENTION_SECONDS = 30 * 24 * 3600
_CURSOR_OWNER = "admin:suppressions"


def record_notification(events: EventLog, message: Any, now: float) -> dict[Applied, int]:
    """Record the SES event in one SNS ``Message``; ``{outcome: recipients}`` counts.

    ``DependencyUnavailable`` when the store cannot answer (the invocation is retried).
    """
    try:
        event = parse_event(message)
    except MalformedEvent as exc:
        logger.warning("SNS message skipped: not an SES event", extra={"reason": str(exc)})
        return {}
    if event is None:
        logger.info("SES event of a kind not recorded; skipped")
        return {}
    counts: dict[Applied, int] = {}
    for recipient in event.recipients:
        applied = events.apply(event, recipient, int(now) + EVENT_RETENTION_SECONDS)
        counts[applied] = counts.get(applied, 0) + 1
        log = logger.warning if applied is Applied.MARKED else logger.info
        log(
            "SES event " + str(applied),
            extra={
                "event": str(event.kind),
                "ses_message_id": event.message_id,
                "to": mask_email(recipient),
                "detail": event.detail,
                "mark": event.mark or "",
            },
        )
    return counts


def list_suppressions(
    suppressions: SuppressionList, secret: bytes, limit: int, cursor: str | None
) -> dict[str, Any]:
    """``{"items": [Suppression.to_dict()], "next_cursor": str | None}``; ``BadRequest`` for
    a cursor this API did not sign."""
    after = decode_cursor(secret, _CURSOR_OWNER, cursor) if cursor else None
    items, position = suppressions.page(limit, after)
    return {
        "items": [item.to_dict() for item in items],
        "next_cursor": encode_cursor(secret, _CURSOR_OWNER, position) if position else None,
    }


def clear_suppression(
    suppressions: SuppressionList, held: HeldReports, user_id: str, admin: Mapping[str, str]
) -> None:
    """Clear the user's mark, then let a report waiting for it go; ``NotFound`` for an unknown
    user. ``admin``: who did it (``user_id``, ``email``), for the log."""
    if not suppressions.clear(user_id):
        raise NotFound("no such user")
    released = held.release(user_id)
    logger.warning(
        "email suppression cleared by an admin",
        extra={
            "user_id": user_id,
            "admin_user_id": admin.get("user_id", ""),
            "admin": mask_email(admin.get("email", "")),
            "waiting_report_released": released,
        },
    )

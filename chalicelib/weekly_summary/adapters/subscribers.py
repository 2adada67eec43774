"""``Subscribers``: the weekly summary's recipients, one page of a parallel ``Scan`` at a time.

Why a filtered Scan and not a sparse index: the pass runs once a week and reads every user
once, which is what a Scan is for. Its cost is the table's size once a week (about 125,000 read
units, a few cents on demand, for a million 1 KB users), and it needs nothing kept in step. A
sparse index of "summary wanted" would have to be rewritten by every write that changes
eligibility (verification, address change, preference, bounce, complaint, admin clear), in
features this one does not own, for a read that happens once a week.

Each page is one ``Scan`` request with ``Limit`` items read (before the filter), segment
``segment`` of ``segments`` (DynamoDB's parallel scan), a ``FilterExpression`` that keeps user
items (``pk`` ``USER#...``) whose address is verified, not marked bounced or complained, and
whose ``weekly_summary`` preference is not off, and a ``ProjectionExpression`` of ``user_id``
alone. Eventually consistent: the worker reads each user again before sending anything.

The attributes are those of ``accounts/adapters/models.py`` ``UserModel`` (``pk``, ``user_id``,
``email_verified_at``, ``email_status``, ``pref_weekly_summary``), named here as the reports'
``job_reader`` names them: the tests register, verify, unsubscribe and bounce users through
the accounts' own code and read them back here, so a change there fails them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import dynamo_unavailable_as_domain_error

USER_KEY_PREFIX = "USER#"
_FILTER = (
    "begins_with(pk, :user) AND attribute_exists(email_verified_at)"
    " AND (attribute_not_exists(email_status) OR email_status = :ok)"
    " AND (attribute_not_exists(pref_weekly_summary) OR pref_weekly_summary = :on)"
)


class DynamoSubscribers:
    """``Subscribers`` on the users table; ``client`` returns the low-level DynamoDB client."""

    def __init__(self, settings: Settings, client: Callable[[], Any]) -> None:
        self._table = settings.tables.users
        self._client = client

    def page(self, segment: int, segments: int, after: str, limit: int) -> tuple[list[str], str]:
        """``Subscribers.page``: one ``Scan`` request."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Segment": segment,
            "TotalSegments": segments,
            "Limit": limit,
            "FilterExpression": _FILTER,
            "ProjectionExpression": "user_id",
            "ExpressionAttributeValues": {
                ":user": {"S": USER_KEY_PREFIX},
                ":ok": {"S": "ok"},
                ":on": {"BOOL": True},
            },
        }
        if after:
            request["ExclusiveStartKey"] = {"pk": {"S": after}}
        with dynamo_unavailable_as_domain_error("read the users for the weekly summaries"):
            answer = self._client().scan(**request)
        users = [str(item["user_id"]["S"]) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey") or {}
        return users, str(last.get("pk", {}).get("S", ""))

"""``SendLog`` on the mail-sends table (``models.MailSendModel``): one conditional write a step.

A claim is one ``PutItem`` conditioned on the key being absent, with
``ReturnValuesOnConditionCheckFailure=ALL_OLD``: when the key is taken, the refusal itself says
by what (sent, a live claim, an expired one), so a redelivery costs one call, not two. An
emulator that does not return the item is asked with a consistent ``GetItem``. Releasing and
recording are conditioned on the claim's token, so a worker never undoes another's claim.

The low-level client is used because PynamoDB's ``save`` cannot ask for the item on a failed
condition; attribute names come from the model, the one declaration of the table.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.mail.adapters.models import MailSendModel as M
from chalicelib.mail.domain import Claim, ClaimState, MailRequest
from chalicelib.platform.adapters.dynamodb_errors import (
    dynamo_unavailable_as_domain_error,
    error_code,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.clock import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SENDING = "sending"
SENT = "sent"
SUPPRESSED = "suppressed"
# Kept well past the dead-letter queues' 14 days: no message carrying the key outlives it.
SEND_RETENTION_SECONDS = 30 * 24 * 3600
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _names(*attributes: Any) -> dict[str, str]:
    return {f"#{a.attr_name}": a.attr_name for a in attributes}


class DynamoSendLog:
    """The send log of the stage's ``mail_sends`` table."""

    def __init__(self, client: Callable[[], DynamoDBClient], settings: Settings) -> None:
        bind_models(settings, M)  # the model is this table's one declaration: keep it current
        self._client = client
        self._table = settings.tables.mail_sends

    def _key(self, key: str) -> Any:
        return {M.key.attr_name: {"S": key}}

    def claim(self, request: MailRequest, lease_until: float, now: float) -> Claim:
        """``SendLog.claim``: one ``PutItem`` (plus a ``GetItem`` on emulators, when taken)."""
        token = secrets.token_hex(16)
        item: Any = {
            **self._key(request.key),
            M.state.attr_name: {"S": SENDING},
            M.claim.attr_name: {"S": token},
            M.lease_until.attr_name: {"N": f"{lease_until:.3f}"},
            M.kind.attr_name: {"S": str(request.kind)},
            M.user_id.attr_name: {"S": request.user_id},
            M.claimed_at.attr_name: {"S": now_iso()},
            M.expires_at.attr_name: {"N": str(int(now) + SEND_RETENTION_SECONDS)},
        }
        with dynamo_unavailable_as_domain_error("claim an email"):
            try:
                self._client().put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#key)",
                    ExpressionAttributeNames=_names(M.key),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if error_code(exc) != _CONDITION_FAILED:
                    raise
                held: Any = exc.response.get("Item") or self._read(request.key)
                return self._holder(request.key, held, now)
        return Claim(request.key, ClaimState.CLAIMED, token, lease_until)

    def _read(self, key: str) -> Any:
        answer = self._client().get_item(
            TableName=self._table, Key=self._key(key), ConsistentRead=True
        )
        return answer.get("Item") or {}

    @staticmethod
    def _holder(key: str, item: Any, now: float) -> Claim:
        state = item.get(M.state.attr_name, {}).get("S", "")
        if state == SENT:
            return Claim(key, ClaimState.SENT)
        if state == SUPPRESSED:
            return Claim(key, ClaimState.SUPPRESSED)
        if not item:  # released between the refusal and the read: the next receive claims it
            return Claim(key, ClaimState.HELD)
        lease_until = float(item.get(M.lease_until.attr_name, {}).get("N", "0"))
        live = lease_until > now
        return Claim(key, ClaimState.HELD if live else ClaimState.IN_DOUBT, "", lease_until)

    def _conditional(self, what: str, call: Callable[[], object]) -> bool:
        with dynamo_unavailable_as_domain_error(what):
            try:
                call()
            except ClientError as exc:
                if error_code(exc) == _CONDITION_FAILED:
                    return False
                raise
        return True

    def release(self, claim: Claim) -> None:
        """``SendLog.release``: one ``DeleteItem`` conditioned on this claim's token."""
        self._conditional(
            "release an email claim",
            lambda: self._client().delete_item(
                TableName=self._table,
                Key=self._key(claim.key),
                ConditionExpression="#claim = :claim",
                ExpressionAttributeNames=_names(M.claim),
                ExpressionAttributeValues={":claim": {"S": claim.token}},
            ),
        )

    def record_sent(self, claim: Claim, message_id: str) -> bool:
        """``SendLog.record_sent``: one ``UpdateItem`` conditioned on this claim's token."""
        return self._finish(claim, SENT, message_id, "record a sent email")

    def record_suppressed(self, claim: Claim, status: str) -> bool:
        """``SendLog.record_suppressed``: one ``UpdateItem`` conditioned on this claim's token;
        the address's status is kept in ``ses_message_id``'s place as ``suppressed:<status>``."""
        return self._finish(claim, SUPPRESSED, f"suppressed:{status}", "record a suppressed email")

    def _finish(self, claim: Claim, state: str, note: str, what: str) -> bool:
        """Set the claimed item's final ``state``, ``note`` (in ``ses_message_id``) and time,
        if this claim still holds it (False otherwise)."""
        return self._conditional(
            what,
            lambda: self._client().update_item(
                TableName=self._table,
                Key=self._key(claim.key),
                UpdateExpression="SET #state = :state, #ses_message_id = :note, #sent_at = :at",
                ConditionExpression="#claim = :claim",
                ExpressionAttributeNames=_names(M.state, M.ses_message_id, M.sent_at, M.claim),
                ExpressionAttributeValues={
                    ":state": {"S": state},
                    ":note": {"S": note},
                    ":at": {"S": now_iso()},
                    ":claim": {"S": claim.token},
                },
            ),
        )

    def clear_in_doubt(self, key: str, now: float) -> bool:
        """``SendLog.clear_in_doubt``: one ``DeleteItem`` of an expired ``sending`` claim."""
        return self._conditional(
            "clear an in-doubt email claim",
            lambda: self._client().delete_item(
                TableName=self._table,
                Key=self._key(key),
                ConditionExpression="#state = :sending AND #lease_until < :now",
                ExpressionAttributeNames=_names(M.state, M.lease_until),
                ExpressionAttributeValues={
                    ":sending": {"S": SENDING},
                    ":now": {"N": f"{now:.3f}"},
                },
            ),
        )

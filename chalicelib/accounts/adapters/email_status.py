"""Whether mail reaches a user's address, on the users table: SES events, marks and their list.

``ses_events`` records each SES event (``SESEVENT#<ses message id>#<kind>#<recipient>`` items,
expiring with the table's TTL) and, for a permanent bounce or a complaint, marks the user whose
*current* address it is (``email_status``, ``email_status_at``, ``email_status_detail`` on the
user item; the sparse ``email-status`` index lists them). Record and mark are one transaction,
each conditioned (the event not seen before, the user's address still the bounced one), so a
redelivered event changes nothing, even after an admin cleared the mark, and an event for an
address the user no longer has marks nobody.

The mail worker asks ``status(user_id, address)`` before each send (one consistent
``GetItem`` of two attributes); the admin routes page and clear the marks.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel
from chalicelib.accounts.domain import EMAIL_BOUNCED, EMAIL_COMPLAINED, EMAIL_OK
from chalicelib.config import Settings
from chalicelib.deliverability.domain import SesEvent, Suppression
from chalicelib.deliverability.ports import Applied
from chalicelib.platform.adapters.dynamodb_errors import (
    cancelled_by_condition,
    dynamo_unavailable_as_domain_error,
)
from chalicelib.platform.adapters.dynamodb_models import (
    BoundModel,
    bind_models,
    transaction_connection,
)
from chalicelib.platform.clock import now_iso

EVENT_PREFIX = "SESEVENT#"
_CONDITION_FAILED = "ConditionalCheckFailedException"
# The order in which GET /admin/suppressions pages through the index's two partitions.
MARKED_STATUSES = (EMAIL_BOUNCED, EMAIL_COMPLAINED)


class SesEventModel(BoundModel):
    """``pk = SESEVENT#<ses message id>#<kind>#<recipient>``: one SES event for one address."""

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    ses_message_id = UnicodeAttribute()
    recipient = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    detail = UnicodeAttribute()
    recorded_at = UnicodeAttribute()
    # The user whose address was marked by this event, if any.
    marked_user_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


def _event_item(event: SesEvent, recipient: str, expires_at: int) -> SesEventModel:
    return SesEventModel(
        pk=f"{EVENT_PREFIX}{event.message_id}#{event.kind}#{recipient}",
        kind=str(event.kind),
        ses_message_id=event.message_id,
        recipient=recipient,
        occurred_at=event.occurred_at or now_iso(),
        detail=event.detail,
        recorded_at=now_iso(),
        expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC),
    )


class DynamoEmailStatus:
    """``EventLog`` and ``SuppressionList`` (deliverability), ``RecipientStatus`` (mail)."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, UserModel, EmailClaimModel, SesEventModel)
        self._settings = settings

    def _owner(self, address: str) -> str | None:
        try:
            return EmailClaimModel.get(f"EMAIL#{address}", consistent_read=True).user_id
        except EmailClaimModel.DoesNotExist:
            return None

    def apply(self, event: SesEvent, recipient: str, expires_at: int) -> Applied:
        """``EventLog.apply``: a ``GetItem`` of the address's claim and one transaction when the
        event marks; one conditional ``PutItem`` otherwise."""
        item = _event_item(event, recipient, expires_at)
        with dynamo_unavailable_as_domain_error("record an SES event"):
            owner = self._owner(recipient) if event.mark else None
            if event.mark and owner:
                item.marked_user_id = owner
                try:
                    self._record_and_mark(item, owner, event.mark)
                    return Applied.MARKED
                except TransactWriteError as exc:
                    failed = cancelled_by_condition(exc)
                    if not any(failed):
                        raise
                    if failed[0]:
                        return Applied.DUPLICATE
                item.marked_user_id = None  # the address is no longer this user's
            try:
                item.save(condition=SesEventModel.pk.does_not_exist())
            except PutError as exc:
                if exc.cause_response_code != _CONDITION_FAILED:
                    raise
                return Applied.DUPLICATE
        return Applied.RECORDED

    def _record_and_mark(self, item: SesEventModel, user_id: str, mark: str) -> None:
        transaction = TransactWrite(
            connection=transaction_connection(self._settings),
            client_request_token=uuid.uuid4().hex,
        )
        with transaction as tx:
            tx.save(item, condition=SesEventModel.pk.does_not_exist())
            tx.update(
                UserModel(pk=f"USER#{user_id}"),
                actions=[
                    UserModel.email_status.set(mark),
                    UserModel.email_status_at.set(item.recorded_at),
                    UserModel.email_status_detail.set(f"{item.kind}: {item.detail}"[:200]),
                ],
                condition=UserModel.email == item.recipient,
            )

    def status(self, user_id: str, address: str) -> str:
        """``RecipientStatus.status``: ``bounced``/``complained`` when ``address`` is the
        user's current address and marked; ``ok`` otherwise (an address the user no longer
        has carries no mark here). One consistent ``GetItem`` of two attributes."""
        with dynamo_unavailable_as_domain_error("read an address's status"):
            try:
                user = UserModel.get(
                    f"USER#{user_id}",
                    consistent_read=True,
                    attributes_to_get=["email", "email_status"],
                )
            except UserModel.DoesNotExist:
                return EMAIL_OK
        if user.email != address:
            return EMAIL_OK
        return user.email_status or EMAIL_OK

    def page(
        self, limit: int, after: dict[str, str] | None
    ) -> tuple[list[Suppression], dict[str, str] | None]:
        """``SuppressionList.page``: the index's ``bounced`` partition, then ``complained``,
        oldest mark first; ``after`` is the last key read (``{"status", "pk", "at"}``)."""
        found: list[Suppression] = []
        start = MARKED_STATUSES.index(after["status"]) if after else 0
        with dynamo_unavailable_as_domain_error("list suppressions"):
            for status in MARKED_STATUSES[start:]:
                last = None
                if after and after.get("status") == status and after.get("pk"):
                    last = {
                        "pk": {"S": after["pk"]},
                        "email_status": {"S": status},
                        "email_status_at": {"S": after["at"]},
                    }
                results = UserModel.email_status_index.query(
                    status, limit=limit - len(found), last_evaluated_key=last
                )
                for user in results:
                    found.append(
                        Suppression(
                            user_id=user.user_id,
                            email=user.email,
                            status=status,
                            at=user.email_status_at or "",
                            detail=user.email_status_detail or "",
                        )
                    )
                if len(found) >= limit:
                    key = results.last_evaluated_key
                    if not key:
                        # This partition is done: go on with the next one, if there is one.
                        following = MARKED_STATUSES[MARKED_STATUSES.index(status) + 1 :]
                        if not following:
                            return found, None
                        return found, {"status": following[0], "pk": "", "at": ""}
                    return found, {
                        "status": status,
                        "pk": key["pk"]["S"],
                        "at": key["email_status_at"]["S"],
                    }
        return found, None

    def clear(self, user_id: str) -> bool:
        """``SuppressionList.clear``: one ``UpdateItem`` removing the mark."""
        with dynamo_unavailable_as_domain_error("clear an address's mark"):
            try:
                UserModel(pk=f"USER#{user_id}").update(
                    actions=[
                        UserModel.email_status.remove(),
                        UserModel.email_status_at.remove(),
                        UserModel.email_status_detail.remove(),
                    ],
                    condition=UserModel.pk.exists(),
                )
            except UpdateError as exc:
                if exc.cause_response_code == _CONDITION_FAILED:
                    return False
                raise
        return True

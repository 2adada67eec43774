"""The send log's table: one item per email idempotency key."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.platform.adapters.dynamodb_models import BoundModel


class MailSendModel(BoundModel):
    """``key``: an email's idempotency key, claimed before SES is called, then marked sent.

    ``state`` is ``sending`` (with ``claim``, the claiming worker's token, and ``lease_until``,
    epoch seconds), ``sent`` (with ``ses_message_id`` and ``sent_at``) or ``suppressed`` (not
    sent: the address bounced or complained; ``ses_message_id`` is ``suppressed:<status>``).
    ``expires_at`` lets DynamoDB drop an item after ``SEND_RETENTION_SECONDS``: long after SQS
    (4 days) and its dead-letter queue (14 days) have let go of every message that could carry
    the key.
    """

    table_key = "mail_sends"

    class Meta(BoundModel.Meta):
        pass

    key = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()
    claim = UnicodeAttribute()
    lease_until = NumberAttribute()
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    ses_message_id = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

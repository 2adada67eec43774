"""The users table: a user item, an email-claim item that makes the email unique, and the
verification tokens (by hash) of the users' addresses."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.platform.adapters.dynamodb_models import BoundModel


class EmailStatusIndex(GlobalSecondaryIndex["UserModel"]):  # type: ignore[no-untyped-call]
    """Sparse: only users whose address bounced or complained (``GET /admin/suppressions``)."""

    class Meta:
        index_name = "email-status"
        projection = AllProjection()

    email_status = UnicodeAttribute(hash_key=True)
    email_status_at = UnicodeAttribute(range_key=True)


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
    # ISO-8601 UTC; absent until the address is verified (the reports' reader projects it too).
    email_verified_at = UnicodeAttribute(null=True)
    # Set once, by the first verification, in the same write: the welcome email is queued once.
    welcomed_at = UnicodeAttribute(null=True)
    # Preferences: absent means on (``accounts.domain.Preferences``).
    pref_reports = BooleanAttribute(null=True)
    pref_weekly_summary = BooleanAttribute(null=True)
    pref_signin_alerts = BooleanAttribute(null=True)
    # Absent means ``ok``; ``bounced`` or ``complained`` (with when, and SES's detail) puts the
    # user in the sparse ``email-status`` index. The reports' reader projects it too.
    email_status = UnicodeAttribute(null=True)
    email_status_at = UnicodeAttribute(null=True)
    email_status_detail = UnicodeAttribute(null=True)
    email_status_index = EmailStatusIndex()


class EmailClaimModel(BoundModel):
    """``pk = EMAIL#<email>``: written with the user in one transaction, so an email is unique."""

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class VerificationTokenModel(BoundModel):
    """``pk = VERIFY#<sha256 of the token>``: one emailed verification link (never the token).

    DynamoDB's TTL deletes it a while after ``expires_at``; the use case checks the time itself,
    since TTL deletion may lag by days.
    """

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    # The address the link was sent to: it verifies that address only.
    email = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute()
    used_at = UnicodeAttribute(null=True)

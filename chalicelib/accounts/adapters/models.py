"""The users table: a user item and an email-claim item that makes the email unique."""

from __future__ import annotations

from pynamodb.attributes import (
    UnicodeAttribute,
)

from chalicelib.platform.adapters.dynamodb_models import BoundModel


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


class EmailClaimModel(BoundModel):
    """``pk = EMAIL#<email>``: written with the user in one transaction, so an email is unique."""

    table_key = "users"

    class Meta(BoundModel.Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()

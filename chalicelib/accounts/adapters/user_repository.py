"""Users in DynamoDB: a profile item plus an email-claim item, written in one transaction."""

from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel
from chalicelib.accounts.domain import User
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import (
    cancelled_by_condition,
    dynamo_unavailable_as_domain_error,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models, transaction_connection
from chalicelib.platform.errors import Conflict


def _to_user(item: UserModel) -> User:
    return User(
        user_id=item.user_id,
        email=item.email,
        name=item.name,
        role=item.role,
        created_at=item.created_at,
        password_hash=item.password_hash,
        email_verified_at=item.email_verified_at,
    )


class DynamoUserRepository:
    """``UserRepository`` on the users table."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, UserModel, EmailClaimModel)
        self._settings = settings

    def add(self, user: User) -> None:
        """Store the user and claim the email atomically; ``Conflict`` if the email is taken."""
        profile = UserModel(
            pk=f"USER#{user.user_id}",
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            role=user.role,
            password_hash=user.password_hash,
            created_at=user.created_at,
        )
        claim = EmailClaimModel(pk=f"EMAIL#{user.email}", user_id=user.user_id)
        with dynamo_unavailable_as_domain_error("register"):
            try:
                with TransactWrite(
                    connection=transaction_connection(self._settings),
                    client_request_token=uuid.uuid4().hex,  # a retried success is no conflict
                ) as tx:
                    tx.save(claim, condition=EmailClaimModel.pk.does_not_exist())
                    tx.save(profile, condition=UserModel.pk.does_not_exist())
            except TransactWriteError as exc:
                if any(cancelled_by_condition(exc)):
                    raise Conflict("an account with this email already exists") from exc
                raise

    def get(self, user_id: str) -> User | None:
        """The user, or None."""
        with dynamo_unavailable_as_domain_error("read user"):
            try:
                return _to_user(UserModel.get(f"USER#{user_id}", consistent_read=True))
            except UserModel.DoesNotExist:
                return None

    def find_by_email(self, email: str) -> User | None:
        """The user registered with ``email``, or None."""
        with dynamo_unavailable_as_domain_error("read user"):
            try:
                claim = EmailClaimModel.get(f"EMAIL#{email}", consistent_read=True)
            except EmailClaimModel.DoesNotExist:
                return None
        return self.get(claim.user_id)

"""Users in DynamoDB: a profile item plus an email-claim item, written in one transaction, and the
verification tokens of their addresses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel, VerificationTokenModel
from chalicelib.accounts.domain import EMAIL_OK, Preferences, User
from chalicelib.accounts.verification import InvalidToken, VerificationToken
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import (
    cancelled_by_condition,
    dynamo_unavailable_as_domain_error,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models, transaction_connection
from chalicelib.platform.errors import Conflict, NotFound


def _to_user(item: UserModel) -> User:
    return User(
        user_id=item.user_id,
        email=item.email,
        name=item.name,
        role=item.role,
        created_at=item.created_at,
        password_hash=item.password_hash,
        email_verified_at=item.email_verified_at,
        preferences=Preferences(
            reports=item.pref_reports is not False,
            weekly_summary=item.pref_weekly_summary is not False,
            signin_alerts=item.pref_signin_alerts is not False,
        ),
        email_status=item.email_status or EMAIL_OK,
    )


def _token_item(token: VerificationToken) -> VerificationTokenModel:
    return VerificationTokenModel(
        pk=f"VERIFY#{token.token_hash}",
        user_id=token.user_id,
        email=token.email,
        created_at=token.created_at,
        expires_at=dt.datetime.fromtimestamp(token.expires_at, dt.UTC),
    )


class DynamoUserRepository:
    """``UserRepository`` on the users table."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, UserModel, EmailClaimModel, VerificationTokenModel)
        self._settings = settings

    def _transaction(self) -> TransactWrite:
        # A fresh token per call: a retried success is no conflict, a new call is a new write.
        return TransactWrite(
            connection=transaction_connection(self._settings),
            client_request_token=uuid.uuid4().hex,
        )

    def add(self, user: User, token: VerificationToken | None = None) -> None:
        """Store the user, claim the email and store ``token`` (its hash), all in one
        transaction; ``Conflict`` if the email is taken."""
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
                with self._transaction() as tx:
                    tx.save(claim, condition=EmailClaimModel.pk.does_not_exist())
                    tx.save(profile, condition=UserModel.pk.does_not_exist())
                    if token is not None:
                        tx.save(_token_item(token))
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

    def add_verification_token(self, token: VerificationToken) -> None:
        """Store a further token (a resent link); earlier ones stay valid until they expire."""
        with dynamo_unavailable_as_domain_error("store a verification token"):
            _token_item(token).save()

    def verification_token(self, token_hash: str) -> VerificationToken | None:
        """The stored token with this hash (used or not), or None."""
        with dynamo_unavailable_as_domain_error("read a verification token"):
            try:
                item = VerificationTokenModel.get(f"VERIFY#{token_hash}", consistent_read=True)
            except VerificationTokenModel.DoesNotExist:
                return None
        return VerificationToken(
            token_hash=token_hash,
            user_id=item.user_id,
            email=item.email,
            created_at=item.created_at,
            expires_at=int(item.expires_at.timestamp()),
            used_at=item.used_at,
        )

    def use_verification_token(
        self, token: VerificationToken, now: float, at: str
    ) -> tuple[User, bool]:
        """Spend ``token`` and verify its address, in one transaction.

        Returns ``(the user as it is now, whether this was the account's first verification)``.
        The token must be unused and unexpired at ``now`` (seconds since the epoch), and the
        user's address still the one it was sent to: otherwise ``InvalidToken`` and nothing
        changes. ``email_verified_at`` and ``welcomed_at`` are set to ``at`` only where absent,
        so ``welcomed_at == at`` afterwards means this call was the first verification.
        """
        item = VerificationTokenModel(pk=f"VERIFY#{token.token_hash}")
        profile = UserModel(pk=f"USER#{token.user_id}")
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        with dynamo_unavailable_as_domain_error("verify an email address"):
            try:
                with self._transaction() as tx:
                    tx.update(
                        item,
                        actions=[VerificationTokenModel.used_at.set(at)],
                        condition=VerificationTokenModel.used_at.does_not_exist()
                        & (VerificationTokenModel.expires_at > moment),
                    )
                    tx.update(
                        profile,
                        actions=[
                            UserModel.email_verified_at.set(UserModel.email_verified_at | at),
                            UserModel.welcomed_at.set(UserModel.welcomed_at | at),
                        ],
                        condition=UserModel.email == token.email,
                    )
            except TransactWriteError as exc:
                if any(cancelled_by_condition(exc)):
                    raise InvalidToken("this link is not valid (used, expired or unknown)") from exc
                raise
            try:
                stored = UserModel.get(f"USER#{token.user_id}", consistent_read=True)
            except UserModel.DoesNotExist as exc:  # removed in between: nothing to verify
                raise InvalidToken("this link is not valid (used, expired or unknown)") from exc
        return _to_user(stored), stored.welcomed_at == at

    def mark_email_verified(self, user_id: str, email: str, verified_at: str) -> bool:
        """Verify ``email`` for the user without a token (an admin or a test fixture).

        True when this call set the verification (the address was not verified before);
        ``Conflict`` if the user's address is not ``email``.
        """
        profile = UserModel(pk=f"USER#{user_id}")
        with dynamo_unavailable_as_domain_error("verify an email address"):
            try:
                profile.update(
                    actions=[
                        UserModel.email_verified_at.set(verified_at),
                        UserModel.welcomed_at.set(UserModel.welcomed_at | verified_at),
                    ],
                    condition=(UserModel.email == email)
                    & UserModel.email_verified_at.does_not_exist(),
                )
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                user = self.get(user_id)
                if user is None or user.email != email:
                    raise Conflict("the account's address is not the one to verify") from exc
                return False
        return True

    def update_preferences(self, user_id: str, changes: Mapping[str, bool]) -> User:
        """Set the given preferences (``reports``, ``weekly_summary``, ``signin_alerts``) and
        return the user as stored now; ``NotFound`` if there is no such user."""
        attributes = {
            "reports": UserModel.pref_reports,
            "weekly_summary": UserModel.pref_weekly_summary,
            "signin_alerts": UserModel.pref_signin_alerts,
        }
        unknown = set(changes) - set(attributes)
        if unknown:
            raise ValueError(f"unknown preferences: {sorted(unknown)}")
        profile = UserModel(pk=f"USER#{user_id}")
        with dynamo_unavailable_as_domain_error("update preferences"):
            try:
                profile.update(
                    actions=[attributes[name].set(value) for name, value in changes.items()],
                    condition=UserModel.pk.exists(),
                )
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise NotFound("user not found") from exc
                raise
        return _to_user(profile)

    def rename(self, user_id: str, name: str) -> User:
        """Set the user's display name; ``NotFound`` if there is no such user."""
        profile = UserModel(pk=f"USER#{user_id}")
        with dynamo_unavailable_as_domain_error("rename user"):
            try:
                profile.update(actions=[UserModel.name.set(name)], condition=UserModel.pk.exists())
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    raise NotFound("user not found") from exc
                raise
        return _to_user(profile)

    def change_email(self, user: User, new_email: str, token: VerificationToken) -> User:
        """Move the account to ``new_email``, unverified, in one transaction; the user as now.

        The old address's claim goes, the new one is claimed (``Conflict`` if another account
        has it), the profile loses its verification and any bounce or complaint mark (they were
        about the old address), and ``token`` (for the new address) is stored. The write is
        conditional on the profile still having ``user.email``: ``Conflict`` if it changed
        meanwhile (two changes racing), and nothing is written.
        """
        old_claim = EmailClaimModel(pk=f"EMAIL#{user.email}", user_id=user.user_id)
        new_claim = EmailClaimModel(pk=f"EMAIL#{new_email}", user_id=user.user_id)
        profile = UserModel(pk=f"USER#{user.user_id}")
        with dynamo_unavailable_as_domain_error("change the email address"):
            try:
                with self._transaction() as tx:
                    tx.delete(old_claim, condition=EmailClaimModel.user_id == user.user_id)
                    tx.save(new_claim, condition=EmailClaimModel.pk.does_not_exist())
                    tx.update(
                        profile,
                        actions=[
                            UserModel.email.set(new_email),
                            UserModel.email_verified_at.remove(),
                            UserModel.email_status.remove(),
                            UserModel.email_status_at.remove(),
                            UserModel.email_status_detail.remove(),
                        ],
                        condition=UserModel.email == user.email,
                    )
                    tx.save(_token_item(token))
            except TransactWriteError as exc:
                reasons = cancelled_by_condition(exc)
                if len(reasons) > 1 and reasons[1]:
                    raise Conflict("an account with this email already exists") from exc
                if any(reasons):
                    raise Conflict("the account's address changed meanwhile; try again") from exc
                raise
        stored = self.get(user.user_id)
        if stored is None:
            raise NotFound("user not found")
        return stored

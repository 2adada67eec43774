"""Registration, login and email verification: the account use cases.

Registration stores the user and a verification token in one transaction, then queues the
verification email; verifying spends the token, queues the welcome email the first time, and
makes any report that waited for the address due again; each successful login of a verified
user queues a sign-in alert (at most ``SIGNIN_ALERT_LIMIT``). Queued mail is sent by
``mail_worker``: no request here waits on SES. A mail that cannot be queued never fails the
request that caused it (the account exists; the link can be resent), except a resend, whose
only purpose is the mail.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.accounts.account_mail import (
    email_changed_mail,
    signin_alert_mail,
    verification_mail,
    welcome_mail,
)
from chalicelib.accounts.domain import (
    EMAIL_OK,
    User,
    normalize_email,
    role_for,
    validate_registration,
)
from chalicelib.accounts.ports import AccountLimits, HeldReports, UserRepository
from chalicelib.accounts.tokens import Principal, issue_token
from chalicelib.accounts.verification import (
    InvalidToken,
    VerificationToken,
    hash_token,
    new_token,
    verification_link,
)
from chalicelib.mail.domain import MailRequest
from chalicelib.mail.ports import Outbox
from chalicelib.observability import logger
from chalicelib.platform.clock import iso, now_iso, utc_now
from chalicelib.platform.errors import (
    Conflict,
    DomainError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from chalicelib.platform.ids import new_ulid

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    """OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, and it fits a small Lambda.

    Built on first use: only registration and login hash, so argon2 stays off the import that
    every other cold start pays (docs/benchmarks.md, "Cold start").
    """
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time.

    Computed on first use, not at import: hashing costs ~20 ms of every cold start otherwise.
    """
    return _hasher().hash("books-api-timing-equaliser")


_BAD_LOGIN = "wrong email or password"


@dataclass(frozen=True)
class LoginResult:
    """What a successful login returns."""

    access_token: str
    expires_in: int

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True)
class AccountDeps:
    """What the account use cases talk to (``wiring.account_dependencies()``)."""

    users: UserRepository
    outbox: Outbox
    limits: AccountLimits
    held_reports: HeldReports
    # Seconds a verification link is valid (``VERIFICATION_TTL_SECONDS``).
    verification_ttl_seconds: int
    clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Client:
    """Who sent the request, as far as the API can tell: for limits and sign-in alerts.

    ``ip``: the source address API Gateway saw (None when unknown). ``user_agent``: the
    ``User-Agent`` header as sent. ``base_url``: where links in emails point.
    """

    base_url: str
    ip: str | None = None
    user_agent: str | None = None


def _queue(outbox: Outbox, request: MailRequest) -> bool:
    """Put ``request`` in the outbox; log (never raise) if the outbox refused it."""
    try:
        outbox.put(request)
    except DomainError as exc:
        logger.warning(
            "email not queued",
            extra={"kind": request.kind, "user_id": request.user_id, "error": exc.message},
        )
        return False
    return True


def _verification(
    deps: AccountDeps, user: User, client: Client
) -> tuple[VerificationToken, MailRequest]:
    """A fresh token for ``user.email`` (to store) and the email holding its link."""
    token, stored = new_token(
        user.user_id, user.email, now_iso(), deps.clock(), deps.verification_ttl_seconds
    )
    link = verification_link(client.base_url, token)
    return stored, verification_mail(user, stored.token_hash, link, deps.verification_ttl_seconds)


def register(deps: AccountDeps, data: Any, admin_emails: frozenset[str], client: Client) -> User:
    """Create an account and queue its verification email; ``Conflict`` if the email is taken,
    ``RateLimited`` when the client's address registered too often."""
    deps.limits.register_allowed(client.ip)
    registration = validate_registration(data)
    user = User(
        user_id=new_ulid(),
        email=registration.email,
        name=registration.name,
        role=role_for(registration.email, admin_emails),
        created_at=now_iso(),
        password_hash=_hasher().hash(registration.password),
    )
    stored, mail = _verification(deps, user, client)
    deps.users.add(user, stored)
    _queue(deps.outbox, mail)
    return user


def resend_verification(deps: AccountDeps, user_id: str, client: Client) -> dict[str, str]:
    """Queue a new verification email: ``{"message", "email"}``.

    ``Conflict`` when the address is verified already; ``RateLimited`` beyond
    ``RESEND_VERIFICATION_LIMIT``; ``DependencyUnavailable`` if the outbox refused it (the only
    purpose of this request is the mail, so that failure is the client's to see).
    """
    user = deps.users.get(user_id)
    if user is None:  # the account was removed after the token was issued
        raise NotFound("user not found")
    if user.email_verified:
        raise Conflict("this email address is already verified")
    if user.email_status != EMAIL_OK:
        why = "bounced" if user.email_status == "bounced" else "was reported as spam by it"
        raise Conflict(
            f"mail to this address {why}: no email can go to it; "
            "change the address with PATCH /users/me"
        )
    deps.limits.resend_allowed(user_id)
    stored, mail = _verification(deps, user, client)
    deps.users.add_verification_token(stored)
    deps.outbox.put(mail)
    return {"message": "a new verification email is on its way", "email": user.email}


def verify_email(deps: AccountDeps, token: str) -> dict[str, str]:
    """Spend a verification link's ``token``: ``{"message", "verified_at"}``.

    ``InvalidToken`` (400) for an unknown, used or expired token, or one sent to an address
    the account no longer has. The first verification an account has queues the welcome
    email; any report that waited for the address is due again at the next report run.
    """
    stored = deps.users.verification_token(hash_token(token))
    now = deps.clock()
    if stored is None or not stored.usable(now):
        raise InvalidToken("this link is not valid (used, expired or unknown)")
    user, first = deps.users.use_verification_token(stored, now, iso(utc_now()))
    logger.info("email address verified", extra={"user_id": user.user_id, "first": first})
    try:
        deps.held_reports.release(user.user_id)
    except Exception:  # verified all the same; the waiting record's expiry sweep re-reads it
        logger.exception(
            "could not release the user's waiting report", extra={"user_id": user.user_id}
        )
    if first:
        _queue(deps.outbox, welcome_mail(user))
    return {"message": "email address verified", "verified_at": user.email_verified_at or ""}


def login(
    deps: AccountDeps, data: Any, secret: str, ttl_seconds: int, client: Client
) -> LoginResult:
    """Check the credentials and issue an access token.

    ``RateLimited`` while the email is locked out after failed attempts (the right password
    included) or the client's address is over its limit; ``Unauthorized`` for a wrong email
    or password, alike. A verified user's successful login queues a sign-in alert.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    password = data.get("password")
    if not isinstance(password, str) or not isinstance(data.get("email"), str):
        raise ValidationFailed(
            "email and password are required", details={"email": "required", "password": "required"}
        )
    try:
        email = normalize_email(data["email"])
    except ValidationFailed:
        email = ""
    # An address that cannot be normalised still has its own lockout (by its trimmed form).
    lockout_key = email or data["email"].strip().lower()
    # One password check at a time per email: every check sees the failures counted before it,
    # so parallel guesses cannot slip past the lockout.
    with deps.limits.login_attempt(lockout_key):
        deps.limits.login_allowed(lockout_key, client.ip)
        user = deps.users.find_by_email(email) if email else None
        try:
            _hasher().verify(user.password_hash if user else _dummy_hash(), password)
            if user is None:
                raise VerificationError()
        except (VerificationError, InvalidHashError) as exc:
            deps.limits.login_failed(lockout_key, client.ip)
            raise Unauthorized(_BAD_LOGIN) from exc
    principal = Principal(user_id=user.user_id, email=user.email, role=user.role)
    result = LoginResult(issue_token(secret, principal, ttl_seconds), ttl_seconds)
    _alert(deps, user, client)
    return result


def _alert(deps: AccountDeps, user: User, client: Client) -> None:
    """Queue a sign-in alert: to a verified address that takes mail, when the user wants
    alerts, within ``SIGNIN_ALERT_LIMIT``."""
    if not user.deliverable:
        return  # maybe not theirs (unverified), or it bounced or complained: no mail goes there
    if not user.preferences.signin_alerts:
        return
    if not deps.limits.signin_alert_allowed(user.user_id):
        logger.info("sign-in alert skipped: limit reached", extra={"user_id": user.user_id})
        return
    _queue(
        deps.outbox,
        signin_alert_mail(user, new_ulid(), utc_now(), client.ip, client.user_agent),
    )


def update_preferences(
    deps: AccountDeps, user_id: str, changes: Mapping[str, bool]
) -> dict[str, bool]:
    """Set some of the user's email preferences; the whole set as it is now."""
    return deps.users.update_preferences(user_id, changes).preferences.to_dict()


def update_profile(
    deps: AccountDeps, user_id: str, email: str | None, name: str | None, client: Client
) -> User:
    """Change the user's name and/or email address (validated by ``ProfilePatch``).

    A new address is unverified until its link is followed: a verification email goes to it
    (within ``RESEND_VERIFICATION_LIMIT``, so the route cannot mail strangers at will), and a
    notice to the old address if mail reached it. Reports wait meanwhile. The same address
    again changes nothing. ``Conflict`` when another account has the address.
    """
    if email is None and name is None:
        raise ValidationFailed(
            "say what to change", details={"body": "at least one of email, name"}
        )
    user = deps.users.get(user_id)
    if user is None:
        raise NotFound("user not found")
    if name is not None and name != user.name:
        user = deps.users.rename(user_id, name)
    if email is None or email == user.email:
        return user
    if deps.users.find_by_email(email) is not None:  # before the limit: a refusal costs nothing
        raise Conflict("an account with this email already exists")
    deps.limits.resend_allowed(user_id)
    stored, mail = _verification(deps, replace(user, email=email), client)
    changed = deps.users.change_email(user, email, stored)
    _queue(deps.outbox, mail)
    if user.deliverable:  # never a notice to an address that was never shown to be theirs
        _queue(deps.outbox, email_changed_mail(user, email, stored.token_hash, utc_now()))
    logger.info("email address changed", extra={"user_id": user_id})
    return changed

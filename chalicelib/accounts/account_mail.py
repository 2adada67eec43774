"""The account emails as outbox requests: verification, welcome, sign-in alert.

Each request carries its idempotency key (at most one email per key, ``mail_worker``) and the
template's values as plain strings. Client-supplied text (the user agent) is made printable and
bounded here; the templates escape it. Nothing here sends anything.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from chalicelib.accounts.domain import User
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.platform.text_rules import excerpt

MAX_USER_AGENT = 200
UNKNOWN = "unknown"


def verification_mail(user: User, token_hash: str, link: str, ttl_seconds: int) -> MailRequest:
    """The email holding the verification ``link`` (key: the token's hash, so one per link)."""
    return MailRequest(
        key=f"verification:{token_hash}",
        kind=MailKind.VERIFICATION,
        user_id=user.user_id,
        to=user.email,
        values={"name": user.name, "link": link, "expires_hours": str(max(1, ttl_seconds // 3600))},
    )


def welcome_mail(user: User) -> MailRequest:
    """The welcome email, once per user (key: the user id)."""
    return MailRequest(
        key=f"welcome:{user.user_id}",
        kind=MailKind.WELCOME,
        user_id=user.user_id,
        to=user.email,
        values={"name": user.name},
    )


def email_changed_mail(user: User, new_email: str, change_id: str, at: dt.datetime) -> MailRequest:
    """The notice to the old address that the account moved to ``new_email`` (key: the
    change's token hash, so one notice per change)."""
    return MailRequest(
        key=f"email_changed:{user.user_id}:{change_id}",
        kind=MailKind.EMAIL_CHANGED,
        user_id=user.user_id,
        to=user.email,
        values={
            "name": user.name,
            "new_email": new_email,
            "at": at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        },
    )


def mask_ip(ip: str | None) -> str:
    """Enough of an address to recognise one's own network, not to locate a person.

    IPv4 keeps its /24 (``203.0.113.*``), IPv6 its /48 (``2001:db8:85a3:*``); anything else
    (absent, malformed) is ``unknown``.
    """
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(str(address).split(".")[:3]) + ".*"
    hextets = address.exploded.split(":")[:3]
    return ":".join(part.lstrip("0") or "0" for part in hextets) + ":*"


def signin_alert_mail(
    user: User, login_id: str, at: dt.datetime, ip: str | None, user_agent: str | None
) -> MailRequest:
    """The alert for one successful login (key: the login's id).

    ``at`` is shown in UTC to the minute; ``ip`` masked (``mask_ip``); ``user_agent`` as the
    client sent it, made printable and cut to 200 characters.
    """
    agent = excerpt(user_agent.strip(), MAX_USER_AGENT) if user_agent and user_agent.strip() else ""
    return MailRequest(
        key=f"signin:{user.user_id}:{login_id}",
        kind=MailKind.SIGNIN_ALERT,
        user_id=user.user_id,
        to=user.email,
        values={
            "name": user.name,
            "at": at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "ip": mask_ip(ip),
            "user_agent": agent or UNKNOWN,
        },
    )

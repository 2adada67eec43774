"""Sending one queued email, at most once per key: the use case behind ``mail_worker``.

Per message: render it (a template missing a value is a ``PoisonMessage``: no receive can fix
it), claim its key in the send log (a conditional write), take a slot of the fleet's SES pacing,
send it, record it ``sent``. What each claim outcome means:

- ``SENT``: a redelivery of an email already sent: done, nothing is sent.
- ``HELD``: another worker's live claim: it may be sending right now. ``MailNotSent``: the
  message is retried after its backoff.
- ``IN_DOUBT``: a claim whose lease ran out, neither released nor recorded: its worker died
  at some point after the claim (the recipient's status read, the pacing wait, the SES call,
  or between SES's answer and the record), or the release or record write failed. Nothing
  tells how far it got, so the email may be out. It is never sent again by itself:
  ``MailNotSent`` on every receive until it reaches the dead-letter queue, where an operator's
  retry (``POST /admin/dlq/{id}/retry``) clears the claim first (``dead_letters.py``).

Once claimed, the recipient's status is read (``RecipientStatus``): to an address that bounced
or complained (SES's events, ``ses_events``) no email of any kind goes. The key is recorded
``suppressed`` instead (a redelivery is done without reading the status again) and the message
succeeds: nothing would change on a later receive but the mark, which an admin clears for the
mail that comes next, not for this one.

SES refusing, or no send slot in time (pacing), releases the claim and raises ``MailNotSent``:
a later receive claims and sends it.

A claim is made only with time to finish: with less Lambda time left than the longest pacing
wait plus one SES call at its worst (``MailPolicy.claim_margin_seconds``), ``deliver`` raises
``MailDeferred`` before it claims, so a worker that runs out of time never leaves an email in
doubt; the message is left for another receive (``workers.py`` ``mail_worker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.accounts.domain import EMAIL_OK
from chalicelib.mail.domain import Claim, ClaimState, MailRequest, ses_tags
from chalicelib.mail.ports import (
    MailComposer,
    MailTransport,
    RecipientStatus,
    SendLog,
    SendPacer,
)
from chalicelib.observability import logger, mask_email
from chalicelib.platform.queues import PoisonMessage
from chalicelib.templates.mail import MailValuesError


class MailNotSent(RuntimeError):
    """Not sent on this receive, for a reason a later receive may not have: retried."""


class MailDeferred(RuntimeError):
    """Not claimed: too little Lambda time left to send it. Nothing was written."""


class Delivered(StrEnum):
    """What one message came to."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class MailDeps:
    """What sending an email talks to."""

    sends: SendLog
    composer: MailComposer
    transport: MailTransport
    pacer: SendPacer
    recipients: RecipientStatus


@dataclass(frozen=True)
class MailPolicy:
    """``lease_seconds``: how long a claim keeps other workers away (longer than a worker can
    hold it: the pacing wait plus the SES call); ``pace_wait_seconds``: the longest wait for a
    send slot before the message is retried later instead; ``ses_call_seconds``: the longest one
    SES call can take, its retries included (``AwsClientSettings.worst_case_seconds``)."""

    lease_seconds: float
    pace_wait_seconds: float
    ses_call_seconds: float

    @property
    def claim_margin_seconds(self) -> float:
        """The least Lambda time left for claiming an email: the longest pacing wait plus one
        SES call at its worst, so a claimed email is sent (or released) before the timeout."""
        return self.pace_wait_seconds + self.ses_call_seconds


def _claimed(deps: MailDeps, request: MailRequest, policy: MailPolicy, now: float) -> Claim:
    claim = deps.sends.claim(request, now + policy.lease_seconds, now)
    if claim.state is ClaimState.HELD:
        raise MailNotSent(f"{request.key}: another worker is sending it (claim live)")
    if claim.state is ClaimState.IN_DOUBT:
        raise MailNotSent(
            f"{request.key}: in doubt (a claim expired without a sent record; SES may have sent "
            "it). Not re-sent automatically; retrying it from GET /admin/dlq sends it again"
        )
    return claim


def _suppressed(deps: MailDeps, request: MailRequest, claim: Claim) -> bool:
    """Whether the recipient's address bounced or complained: then the key is recorded
    ``suppressed`` and nothing is sent. A status that cannot be read releases the claim."""
    try:
        status = deps.recipients.status(request.user_id, request.to)
    except Exception:
        deps.sends.release(claim)
        raise
    if status == EMAIL_OK:
        return False
    deps.sends.record_suppressed(claim, status)
    logger.warning(
        "email not sent: the address is suppressed",
        extra={
            "key": request.key,
            "kind": str(request.kind),
            "to": mask_email(request.to),
            "email_status": status,
        },
    )
    return True


def deliver(
    deps: MailDeps,
    policy: MailPolicy,
    request: MailRequest,
    now: float,
    seconds_left: float = float("inf"),
) -> Delivered:
    """Send ``request`` unless its key was sent already (``now``: epoch seconds).

    ``seconds_left``: the Lambda time left (unbounded by default, for a caller with no Lambda
    clock). ``MailDeferred``, before anything is read or written, when it is below
    ``policy.claim_margin_seconds``.
    ``Delivered.SUPPRESSED`` (nothing sent) when the address bounced or complained.
    ``PoisonMessage`` when its template lacks a value; ``MailNotSent`` (held, in doubt, SES
    refused, no send slot); ``DependencyUnavailable`` when the send log cannot answer.
    """
    if seconds_left < policy.claim_margin_seconds:
        raise MailDeferred(
            f"{request.key}: {seconds_left:.1f} s left, under the "
            f"{policy.claim_margin_seconds:.1f} s a send may take"
        )
    try:
        raw = deps.composer.compose(request)
    except MailValuesError as exc:
        raise PoisonMessage(str(exc)) from exc
    claim = _claimed(deps, request, policy, now)
    if claim.state is ClaimState.SENT:
        logger.info("email already sent; redelivery ignored", extra={"key": request.key})
        return Delivered.ALREADY_SENT
    if claim.state is ClaimState.SUPPRESSED:
        logger.info("email already suppressed; redelivery ignored", extra={"key": request.key})
        return Delivered.SUPPRESSED
    if _suppressed(deps, request, claim):
        return Delivered.SUPPRESSED
    try:
        if not deps.pacer.acquire(give_up_in=policy.pace_wait_seconds):
            raise MailNotSent(f"{request.key}: no SES send slot within the wait")
        message_id = deps.transport.send(raw, ses_tags(request))
    except Exception as exc:
        deps.sends.release(claim)
        if isinstance(exc, MailNotSent):
            raise
        raise MailNotSent(f"{request.key}: {exc}") from exc
    if not deps.sends.record_sent(claim, message_id):
        logger.warning(
            "email sent, but its claim was released meanwhile", extra={"key": request.key}
        )
    logger.info(
        "email sent",
        extra={
            "key": request.key,
            "kind": str(request.kind),
            "to": mask_email(request.to),
            "ses_message_id": message_id,
        },
    )
    return Delivered.SENT

"""Sending one email at most once per key (``mail/service.py``), on fakes of its ports; the
message body, the backoff numbers, and the dead-letter retry that clears an in-doubt claim."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from chalicelib.mail.dead_letters import ReleasingDeadLetters
from chalicelib.mail.domain import (
    Claim,
    ClaimState,
    MailKind,
    MailRequest,
    retry_delay_seconds,
    ses_tag_value,
)
from chalicelib.mail.service import (
    Delivered,
    MailDeferred,
    MailDeps,
    MailNotSent,
    MailPolicy,
    deliver,
)
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.queues import DeadMessage, PoisonMessage, QueueDepth
from chalicelib.templates.mail import MailValuesError

POLICY = MailPolicy(lease_seconds=90, pace_wait_seconds=5, ses_call_seconds=27)
NOW = 1_000_000.0


@dataclass
class FakeSendLog:
    """``SendLog`` in memory: ``{key: (state, token, lease_until)}``."""

    items: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    tokens: int = 0

    def claim(self, request: MailRequest, lease_until: float, now: float) -> Claim:
        found = self.items.get(request.key)
        if found is None:
            self.tokens += 1
            token = f"t{self.tokens}"
            self.items[request.key] = ("sending", token, lease_until)
            return Claim(request.key, ClaimState.CLAIMED, token, lease_until)
        state, _, lease = found
        if state == "sent":
            return Claim(request.key, ClaimState.SENT)
        if state == "suppressed":
            return Claim(request.key, ClaimState.SUPPRESSED)
        return Claim(request.key, ClaimState.HELD if lease > now else ClaimState.IN_DOUBT)

    def release(self, claim: Claim) -> None:
        if self.items.get(claim.key, ("", "", 0))[1] == claim.token:
            del self.items[claim.key]

    def record_sent(self, claim: Claim, message_id: str) -> bool:
        if self.items.get(claim.key, ("", "", 0))[1] != claim.token:
            return False
        self.items[claim.key] = ("sent", claim.token, 0)
        return True

    def record_suppressed(self, claim: Claim, status: str) -> bool:
        if self.items.get(claim.key, ("", "", 0))[1] != claim.token:
            return False
        self.items[claim.key] = ("suppressed", claim.token, 0)
        return True

    def clear_in_doubt(self, key: str, now: float) -> bool:
        state, _, lease = self.items.get(key, ("", "", 0))
        if state == "sending" and lease < now:
            del self.items[key]
            return True
        return False


@dataclass
class FakeComposer:
    missing_value: bool = False

    def compose(self, request: MailRequest) -> bytes:
        if self.missing_value:
            raise MailValuesError("'link' is undefined")
        return f"mail {request.key}".encode()


@dataclass
class FakeTransport:
    failures: int = 0
    sent: list[bytes] = field(default_factory=list)

    tags: list[dict[str, str]] = field(default_factory=list)

    def send(self, raw: bytes, tags: Mapping[str, str]) -> str:
        self.tags.append(dict(tags))
        if self.failures:
            self.failures -= 1
            raise DependencyUnavailable("SES refused the email (Throttling)")
        self.sent.append(raw)
        return f"ses-{len(self.sent)}"


@dataclass
class FakePacer:
    granted: bool = True

    def acquire(self, give_up_in: float = float("inf")) -> bool:
        return self.granted


@dataclass
class FakeRecipients:
    """``RecipientStatus``: ``{(user_id, address): status}``, ``ok`` when absent."""

    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    reads: int = 0

    def status(self, user_id: str, address: str) -> str:
        self.reads += 1
        return self.statuses.get((user_id, address), "ok")


def _deps(**overrides: object) -> MailDeps:
    defaults: dict[str, object] = {
        "recipients": FakeRecipients(),
        "sends": FakeSendLog(),
        "composer": FakeComposer(),
        "transport": FakeTransport(),
        "pacer": FakePacer(),
    }
    return MailDeps(**{**defaults, **overrides})  # type: ignore[arg-type]


def _request(key: str = "welcome:u1") -> MailRequest:
    return MailRequest(key, MailKind.WELCOME, "u1", "ada@example.com", {"name": "Ada"})


def test_an_email_is_claimed_sent_and_recorded() -> None:
    deps = _deps()

    assert deliver(deps, POLICY, _request(), NOW) is Delivered.SENT

    assert deps.transport.sent == [b"mail welcome:u1"]  # type: ignore[attr-defined]
    assert deps.sends.items["welcome:u1"][0] == "sent"  # type: ignore[attr-defined]


def test_the_claim_margin_is_the_pacing_wait_plus_one_ses_call_at_its_worst() -> None:
    assert POLICY.claim_margin_seconds == 5 + 27


def test_an_email_is_not_claimed_with_less_time_left_than_the_margin() -> None:
    deps = _deps()

    with pytest.raises(MailDeferred, match=r"welcome:u1: 31\.9 s left, under the 32\.0 s"):
        deliver(deps, POLICY, _request(), NOW, seconds_left=31.9)

    assert deps.sends.items == {}  # type: ignore[attr-defined]
    assert deps.transport.sent == []  # type: ignore[attr-defined]
    assert deps.recipients.reads == 0  # type: ignore[attr-defined]


def test_an_email_is_sent_with_exactly_the_margin_left() -> None:
    deps = _deps()

    assert deliver(deps, POLICY, _request(), NOW, seconds_left=32.0) is Delivered.SENT


def test_an_email_carries_its_kind_and_user_as_ses_tags() -> None:
    deps = _deps()

    deliver(deps, POLICY, _request(), NOW)

    assert deps.transport.tags == [{"kind": "welcome", "user_id": "u1"}]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("signin_alert", "signin_alert"),
        ("a:b@c.d", "a_b_c_d"),
        ("", "none"),
        ("é" * 300, "_" * 256),
    ],
)
def test_ses_tag_values_hold_only_what_ses_accepts(text: str, tag: str) -> None:
    assert ses_tag_value(text) == tag


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_no_email_goes_to_a_bounced_or_complained_address(status: str) -> None:
    recipients = FakeRecipients({("u1", "ada@example.com"): status})
    deps = _deps(recipients=recipients)

    assert deliver(deps, POLICY, _request(), NOW) is Delivered.SUPPRESSED

    assert deps.transport.sent == []  # type: ignore[attr-defined]
    assert deps.sends.items["welcome:u1"][0] == "suppressed"  # type: ignore[attr-defined]


def test_a_redelivery_of_a_suppressed_email_does_not_read_the_status_again() -> None:
    recipients = FakeRecipients({("u1", "ada@example.com"): "bounced"})
    deps = _deps(recipients=recipients)
    deliver(deps, POLICY, _request(), NOW)
    recipients.statuses.clear()  # an admin cleared the mark since: this email stays unsent

    assert deliver(deps, POLICY, _request(), NOW + 1) is Delivered.SUPPRESSED
    assert recipients.reads == 1
    assert deps.transport.sent == []  # type: ignore[attr-defined]


def test_a_status_that_cannot_be_read_releases_the_claim_for_a_later_receive() -> None:
    class Down:
        def status(self, user_id: str, address: str) -> str:
            raise DependencyUnavailable("DynamoDB is down")

    deps = _deps(recipients=Down())

    with pytest.raises(DependencyUnavailable):
        deliver(deps, POLICY, _request(), NOW)
    assert "welcome:u1" not in deps.sends.items  # type: ignore[attr-defined]


def test_a_redelivery_of_a_sent_email_sends_nothing() -> None:
    deps = _deps()
    deliver(deps, POLICY, _request(), NOW)

    assert deliver(deps, POLICY, _request(), NOW + 1) is Delivered.ALREADY_SENT
    assert len(deps.transport.sent) == 1  # type: ignore[attr-defined]


def test_a_live_claim_of_another_worker_is_retried_later() -> None:
    sends = FakeSendLog({"welcome:u1": ("sending", "other", NOW + 30)})
    deps = _deps(sends=sends)

    with pytest.raises(MailNotSent, match="another worker"):
        deliver(deps, POLICY, _request(), NOW)
    assert deps.transport.sent == []  # type: ignore[attr-defined]
    assert sends.items["welcome:u1"] == ("sending", "other", NOW + 30)


def test_an_expired_claim_is_in_doubt_and_never_resent_by_itself() -> None:
    sends = FakeSendLog({"welcome:u1": ("sending", "dead-worker", NOW - 1)})
    deps = _deps(sends=sends)

    for receive in range(5):
        with pytest.raises(MailNotSent, match="in doubt"):
            deliver(deps, POLICY, _request(), NOW + receive * 60)
    assert deps.transport.sent == []  # type: ignore[attr-defined]


def test_ses_refusing_releases_the_claim_so_a_later_receive_sends_it() -> None:
    deps = _deps(transport=FakeTransport(failures=1))

    with pytest.raises(MailNotSent, match="SES refused"):
        deliver(deps, POLICY, _request(), NOW)
    assert deps.sends.items == {}  # type: ignore[attr-defined]

    assert deliver(deps, POLICY, _request(), NOW + 30) is Delivered.SENT


def test_no_send_slot_releases_the_claim_without_sending() -> None:
    deps = _deps(pacer=FakePacer(granted=False))

    with pytest.raises(MailNotSent, match="no SES send slot"):
        deliver(deps, POLICY, _request(), NOW)
    assert deps.sends.items == {}  # type: ignore[attr-defined]
    assert deps.transport.sent == []  # type: ignore[attr-defined]


def test_a_template_missing_a_value_is_a_poison_message_claiming_nothing() -> None:
    deps = _deps(composer=FakeComposer(missing_value=True))

    with pytest.raises(PoisonMessage, match="undefined"):
        deliver(deps, POLICY, _request(), NOW)
    assert deps.sends.items == {}  # type: ignore[attr-defined]


def test_the_message_body_round_trips_and_names_every_field() -> None:
    request = MailRequest(
        "signin:u1:l1",
        MailKind.SIGNIN_ALERT,
        "u1",
        "ada@example.com",
        {"name": "Zoë", "at": "2026-11-30 10:00 UTC", "ip": "203.0.113.*", "user_agent": "x"},
    )

    assert set(json.loads(request.body())) == {"key", "kind", "user_id", "to", "values"}
    assert MailRequest.parse(request.body()) == request


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"key": "k", "kind": "weekly", "user_id": "u", "to": "a@b", "values": {}}),
        json.dumps({"key": "", "kind": "welcome", "user_id": "u", "to": "a@b", "values": {}}),
        json.dumps(
            {"key": "k", "kind": "welcome", "user_id": "u", "to": "a@b", "values": {"n": 1}}
        ),
        json.dumps({"key": "k", "kind": "welcome", "user_id": "u", "to": "nobody", "values": {}}),
        json.dumps({"key": "k", "kind": "welcome", "user_id": "u", "to": "a@b"}),
        "x" * 70_000,
        "[" * 20_000 + "]" * 20_000,  # under the size limit, deeper than the JSON parser goes
    ],
)
def test_a_malformed_body_is_a_poison_message(body: str) -> None:
    with pytest.raises(PoisonMessage):
        MailRequest.parse(body)


def test_retries_wait_30_60_120_240_seconds_and_never_past_12_hours() -> None:
    assert [retry_delay_seconds(30, receives) for receives in range(1, 5)] == [30, 60, 120, 240]
    assert retry_delay_seconds(30, 40) == 12 * 3600
    assert retry_delay_seconds(1, 2) == 2
    assert retry_delay_seconds(0.01, 4) == 0


@dataclass
class FakeQueue:
    name: str
    bodies: list[str] = field(default_factory=list)

    def send(self, bodies: list[str]) -> list[int]:
        self.bodies.extend(bodies)
        return []

    def depth(self) -> QueueDepth:
        return QueueDepth(len(self.bodies), 0, 0)


@dataclass
class FakeDeadLetters:
    name: str
    messages: dict[str, str]

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        return [DeadMessage(i, self.name, b, 5, 0) for i, b in self.messages.items()]

    def move_to(self, message_id: str, target: FakeQueue) -> DeadMessage:
        body = self.messages.pop(message_id)
        target.send([body])
        return DeadMessage(message_id, self.name, body, 5, 0)


def test_retrying_a_dead_email_clears_its_in_doubt_claim_before_it_is_queued() -> None:
    sends = FakeSendLog(
        {
            "welcome:u1": ("sending", "dead-worker", NOW - 1),  # in doubt
            "welcome:u2": ("sent", "t", 0),  # sent: stays sent
        }
    )
    dead = FakeDeadLetters(
        "mail-dlq", {"m1": _request("welcome:u1").body(), "m2": _request("welcome:u2").body()}
    )
    work = FakeQueue("mail")
    releasing = ReleasingDeadLetters(dead, sends, clock=lambda: NOW)

    releasing.move_to("m1", work)  # type: ignore[arg-type]
    releasing.move_to("m2", work)  # type: ignore[arg-type]

    assert "welcome:u1" not in sends.items
    assert sends.items["welcome:u2"][0] == "sent"
    assert [MailRequest.parse(b).key for b in work.bodies] == ["welcome:u1", "welcome:u2"]
    deps = _deps(sends=sends)
    assert deliver(deps, POLICY, _request("welcome:u1"), NOW) is Delivered.SENT
    assert deliver(deps, POLICY, _request("welcome:u2"), NOW) is Delivered.ALREADY_SENT

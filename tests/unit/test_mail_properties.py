"""Property of the outbox's send (``mail/service.py deliver``) over any interleaving of
deliveries, redeliveries, SES refusals and workers that die mid-send, on fakes of its ports:
no key is ever sent twice; every key whose worker never died is sent exactly once after one
more healthy delivery; a key whose worker died holding its claim is in doubt, never re-sent by
itself (the operator's dead-letter retry decides)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.mail.service import MailNotSent, deliver
from chalicelib.platform.errors import DependencyUnavailable
from tests.unit.test_mail_service import POLICY, FakeSendLog, FakeTransport, _deps

KEYS = [f"signin:u1:{n}" for n in range(4)]
OUTCOMES = ("ok", "ses_refuses", "dies_before_send", "dies_after_send")


class WorkerDied(BaseException):
    """The Lambda ended mid-send (a timeout, a crash): nothing after it runs, not even the
    service's ``except Exception`` clean-up."""


@dataclass
class ScriptedTransport(FakeTransport):
    """SES, told what happens to the next send."""

    next_outcome: str = "ok"
    sends: Counter[str] = field(default_factory=Counter)

    def send(self, raw: bytes, tags: Any) -> str:
        if self.next_outcome == "dies_before_send":
            raise WorkerDied
        if self.next_outcome == "ses_refuses":
            raise DependencyUnavailable("SES refused the email (Throttling)")
        self.sends[raw.decode()] += 1
        if self.next_outcome == "dies_after_send":
            raise WorkerDied
        return f"ses-{sum(self.sends.values())}"


def _request(key: str) -> MailRequest:
    return MailRequest(key, MailKind.SIGNIN_ALERT, "u1", "ada@example.com", {"name": "Ada"})


@given(
    st.lists(
        st.tuples(st.sampled_from(KEYS), st.sampled_from(OUTCOMES), st.integers(0, 200)),
        max_size=30,
    )
)
def test_no_key_is_sent_twice_and_none_is_lost_but_the_ones_in_doubt(
    steps: list[tuple[str, str, int]],
) -> None:
    transport = ScriptedTransport()
    sends = FakeSendLog()
    deps = _deps(transport=transport, sends=sends)
    now = 1_000_000.0
    died: set[str] = set()
    for key, outcome, wait in steps:
        now += wait  # leases (90 s) run out between some deliveries, not others
        transport.next_outcome = outcome
        try:
            deliver(deps, POLICY, _request(key), now)
        except MailNotSent:
            pass  # SQS gives the message back after its backoff
        except WorkerDied:
            died.add(key)
        sent = transport.sends
        assert all(count == 1 for count in sent.values()), sent

    # One more healthy delivery of every key, long after every lease.
    transport.next_outcome = "ok"
    now += 3600
    for key in KEYS:
        try:
            deliver(deps, POLICY, _request(key), now)
        except MailNotSent:
            assert key in died  # only a claim left by a dead worker is in doubt
    for key in KEYS:
        times = transport.sends[f"mail {key}"]
        if key in died and sends.items.get(key, ("",))[0] == "sending":
            assert times <= 1  # in doubt: sent once (died after SES) or never, not re-sent
        else:
            assert times == 1

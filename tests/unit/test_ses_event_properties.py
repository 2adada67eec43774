"""Property: whatever an SNS message holds, reading it as an SES event either gives an event
(or None for a kind not recorded) or raises ``MalformedEvent``, never anything else; only a
permanent bounce or a complaint ever marks an address, and what it marks is a stored-form
address."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.accounts.domain import EMAIL_BOUNCED, EMAIL_COMPLAINED, normalize_email
from chalicelib.deliverability.domain import (
    MAX_DETAIL_CHARACTERS,
    EventKind,
    MalformedEvent,
    parse_event,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ADDRESSES = st.one_of(
    st.sampled_from(["ada@example.com", "Ada <ADA@Example.com>", "x@bücher.test", "a@x.local"]),
    st.emails(),
    st.text(max_size=60),
    JSON,
)
RECIPIENTS = st.lists(
    st.one_of(st.fixed_dictionaries({"emailAddress": ADDRESSES}), ADDRESSES), min_size=1, max_size=4
)
KINDS = st.sampled_from(["Bounce", "Complaint", "Delivery", "Reject", "Send", "Open", "", "bounce"])


def mostly(draw: st.DrawFn, shaped: st.SearchStrategy[Any]) -> Any:
    """A value of SES's shape four times in five, any JSON value otherwise."""
    return draw(JSON) if draw(st.integers(0, 4)) == 0 else draw(shaped)


@st.composite
def ses_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        # Mostly the kinds that are recorded, sometimes anything: the parser meets both.
        draw(st.sampled_from(["eventType", "notificationType"])): mostly(
            draw, st.one_of(st.sampled_from(list(EventKind)).map(str), KINDS)
        ),
        "mail": mostly(
            draw,
            st.fixed_dictionaries(
                {"messageId": st.text(min_size=1, max_size=80)},
                optional={"timestamp": JSON, "destination": RECIPIENTS | JSON},
            ),
        ),
    }
    for section, key in (
        ("bounce", "bouncedRecipients"),
        ("complaint", "complainedRecipients"),
        ("delivery", "recipients"),
    ):
        if draw(st.integers(0, 3)):
            event[section] = mostly(
                draw,
                st.fixed_dictionaries(
                    {key: RECIPIENTS},
                    optional={
                        "bounceType": st.sampled_from(["Permanent", "Transient", "Undetermined"])
                        | JSON,
                        "complaintFeedbackType": JSON,
                    },
                ),
            )
    return event


def _check(message: Any) -> None:
    try:
        event = parse_event(message)
    except MalformedEvent:
        return
    if event is None:
        return
    assert event.kind in set(EventKind)
    assert event.message_id and len(event.detail) <= MAX_DETAIL_CHARACTERS
    if event.mark is not None:
        assert (event.kind, event.mark) in {
            (EventKind.BOUNCE, EMAIL_BOUNCED),
            (EventKind.COMPLAINT, EMAIL_COMPLAINED),
        }
        assert event.kind is EventKind.COMPLAINT or event.permanent
    for address in event.recipients:
        assert normalize_email(address) == address


@given(ses_events())
def test_any_event_shaped_message_is_read_or_refused_cleanly(event: dict[str, Any]) -> None:
    _check(json.dumps(event))


@given(st.one_of(st.text(max_size=200), JSON.map(json.dumps), JSON))
def test_any_message_at_all_is_read_or_refused_cleanly(message: Any) -> None:
    _check(message)

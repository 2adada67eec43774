"""Preferences and address changes: PATCH /users/me/preferences, PATCH /users/me.

The app in-process on moto and a real redis-server; mail goes through the outbox and
``mail_worker`` to moto's SES and is parsed back.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.queue_support import drain_worker
from tests.functional.test_account_emails import _follow, _mails, _verification_link

ALL_ON = {"reports": True, "weekly_summary": True, "signin_alerts": True}


def test_preferences_are_all_on_until_turned_off(api: Any) -> None:
    _, token = api.new_user()
    assert api.call("GET", "/users/me/preferences", token=token).json_body == ALL_ON

    changed = api.call("PATCH", "/users/me/preferences", {"reports": False}, token=token)

    assert changed.status_code == 200, changed.body
    assert changed.json_body == {**ALL_ON, "reports": False}
    assert api.call("GET", "/users/me/preferences", token=token).json_body["reports"] is False
    back = api.call("PATCH", "/users/me/preferences", {"reports": True}, token=token)
    assert back.json_body == ALL_ON


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reports": "false"},
        {"reports": 0},
        {"reports": None},
        {"reports": True, "weekly_summary": None},
        {"email": False},
        [],
        "x",
    ],
)
def test_a_bad_preferences_patch_is_a_400_and_changes_nothing(api: Any, body: Any) -> None:
    _, token = api.new_user()
    answer = api.call("PATCH", "/users/me/preferences", body, token=token)
    assert answer.status_code == 400, answer.body
    assert api.call("GET", "/users/me/preferences", token=token).json_body == ALL_ON


def test_preferences_need_a_token(api: Any) -> None:
    assert api.call("GET", "/users/me/preferences").status_code == 401
    assert api.call("PATCH", "/users/me/preferences", {"reports": False}).status_code == 401


def test_signin_alerts_turned_off_send_none(api: Any) -> None:
    user, token = api.new_user("calm@example.com")
    api.call("PATCH", "/users/me/preferences", {"signin_alerts": False}, token=token)
    api.login(user["email"])
    drain_worker("mail_worker")
    assert len(_mails("calm@example.com", "sign-in")) == 1  # the first login's, before the change


def test_a_new_address_is_verified_again_and_the_old_one_gets_a_notice(api: Any) -> None:
    user, token = api.new_user("old@example.com", name="Mover")
    drain_worker("mail_worker")

    moved = api.call("PATCH", "/users/me", {"email": " New@Example.com "}, token=token)

    assert moved.status_code == 200, moved.body
    assert (moved.json_body["email"], moved.json_body["email_verified"]) == (
        "new@example.com",
        False,
    )
    link = _verification_link("new@example.com")  # drains the outbox
    notices = _mails("old@example.com", "address of your")
    assert len(notices) == 1
    assert "new@example.com" in str(notices[0].get_body(preferencelist=("plain",)).get_content())
    assert (
        api.call(
            "POST", "/auth/login", {"email": "old@example.com", "password": "correct-horse"}
        ).status_code
        == 401
    )
    new_token = api.login("new@example.com")
    assert _follow(api, link).status_code == 200
    me = api.call("GET", "/users/me", token=new_token).json_body
    assert (me["email"], me["email_verified"], me["user_id"]) == (
        "new@example.com",
        True,
        user["user_id"],
    )
    # The old address is free for another account now.
    api.register("old@example.com")


def test_an_address_another_account_has_is_a_409_and_changes_nothing(api: Any) -> None:
    api.new_user("taken@example.com")
    _, token = api.new_user("mine@example.com")
    answer = api.call("PATCH", "/users/me", {"email": "taken@example.com"}, token=token)
    assert answer.status_code == 409
    me = api.call("GET", "/users/me", token=token).json_body
    assert (me["email"], me["email_verified"]) == ("mine@example.com", True)


def test_the_same_address_or_a_name_alone_keeps_the_verification(api: Any) -> None:
    _, token = api.new_user("same@example.com", name="Before")
    same = api.call("PATCH", "/users/me", {"email": "SAME@example.com"}, token=token)
    renamed = api.call("PATCH", "/users/me", {"name": "  After  "}, token=token)
    assert same.status_code == renamed.status_code == 200
    assert (renamed.json_body["name"], renamed.json_body["email_verified"]) == ("After", True)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-address"},
        {"email": None},
        {"name": ""},
        {"role": "admin"},
        {"email": "a@x.local"},
    ],
)
def test_a_bad_profile_patch_is_a_400(api: Any, body: Any) -> None:
    _, token = api.new_user()
    answer = api.call("PATCH", "/users/me", body, token=token)
    assert answer.status_code == 400, answer.body
    assert api.call("GET", "/users/me", token=token).json_body["role"] == "user"


def test_a_refused_address_change_does_not_use_up_the_limit(api: Any) -> None:
    api.new_user("someone@example.com")
    _, token = api.new_user()
    for _ in range(3):
        taken = api.call("PATCH", "/users/me", {"email": "someone@example.com"}, token=token)
        assert taken.status_code == 409
    assert (
        api.call("PATCH", "/users/me", {"email": "free@example.com"}, token=token).status_code
        == 200
    )


def test_a_resend_to_a_bounced_address_says_so(api: Any) -> None:
    from chalicelib.accounts.adapters.models import UserModel

    user, token = api.new_user(verified=False)
    UserModel(pk=f"USER#{user['user_id']}").update(actions=[UserModel.email_status.set("bounced")])
    answer = api.call("POST", "/auth/resend-verification", token=token)
    assert answer.status_code == 409
    assert "bounced" in answer.json_body["message"]


def test_address_changes_are_limited_like_resends(api: Any) -> None:
    _, token = api.new_user()
    first = api.call("PATCH", "/users/me", {"email": "one@example.com"}, token=token)
    second = api.call("PATCH", "/users/me", {"email": "two@example.com"}, token=token)
    assert first.status_code == 200
    assert second.status_code == 429
    assert api.call("GET", "/users/me", token=token).json_body["email"] == "one@example.com"


def test_a_bounced_address_gets_no_signin_alert_queued(api: Any) -> None:
    from chalicelib.accounts.adapters.models import UserModel
    from chalicelib.config import get_settings
    from tests.functional.queue_support import queue_bodies

    user, _ = api.new_user("bouncing@example.com")
    drain_worker("mail_worker")
    UserModel(pk=f"USER#{user['user_id']}").update(
        actions=[
            UserModel.email_status.set("bounced"),
            UserModel.email_status_at.set("2026-11-30T10:00:00.000Z"),
        ]
    )

    api.login(user["email"])

    assert queue_bodies(get_settings().queues.mail) == []
    me = api.call("GET", "/users/me", token=api.login(user["email"])).json_body
    assert me["email_status"] == "bounced"

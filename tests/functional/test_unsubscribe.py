"""One-click unsubscribe and deliverability on the report side (issue 12), on moto and redis.

Report emails carry ``List-Unsubscribe`` (RFC 2369) and ``List-Unsubscribe-Post`` (RFC 8058)
and a footer link; account emails carry none. ``POST /unsubscribe`` with the one-click form
turns reports off, after which a run consumes the user's record without mail (history:
``skipped``). ``GET /unsubscribe`` only shows the button. A bounced address makes the record
wait, as an unverified one does, until the mark is cleared and the record released.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from chalicelib import wiring
from chalicelib.accounts.adapters.models import UserModel
from chalicelib.accounts.unsubscribe import UnsubscribeTokens
from chalicelib.config import get_settings
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.reports.service import send_reports
from chalicelib.status_record import record
from tests.functional.queue_support import drain_worker
from tests.functional.reports_support import (
    FAST_POLICY,
    live_status_keys,
    mail_for,
    parsed_mail,
    publish,
    redis_client,
    report_deps,
    seed_job,
)

ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HEADER = re.compile(r"^<(https?://[^>\s]+)>$")


def _body(message: Message, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    return str(part.get_content())


def _unsubscribe_url(message: Message) -> str:
    """The URL of a report email's ``List-Unsubscribe`` header, checked against RFC 8058."""
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    match = HEADER.match(str(message["List-Unsubscribe"]))
    assert match, message["List-Unsubscribe"]
    return match.group(1)


def _token(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path.endswith("/unsubscribe")
    (token,) = parse_qs(parts.query)["token"]
    return token


def _report_for(api: Any, verified: bool = True) -> tuple[dict[str, Any], str, Message]:
    """A user whose first report was sent: ``(user, access token, the report email)``."""
    user, token = api.new_user(verified=verified)
    publish(seed_job(user["user_id"], ok=2, failed=1))
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 1
    (message,) = mail_for(user["email"])
    return user, token, message


def _post(api: Any, token: str, body: str = ONE_CLICK, **headers: str) -> Any:
    return api.call(
        "POST", f"/unsubscribe?token={quote(token, safe='')}", raw=body, headers={**FORM, **headers}
    )


def _preferences(api: Any, token: str) -> dict[str, bool]:
    answer = api.call("GET", "/users/me/preferences", token=token)
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def test_a_report_email_carries_valid_one_click_headers_and_a_footer_link(api: Any) -> None:
    user, _, message = _report_for(api)

    url = _unsubscribe_url(message)
    assert url.startswith("http://127.0.0.1:8000/unsubscribe?token=")  # no PUBLIC_BASE_URL
    assert "@" not in url and user["email"] not in url
    request = wiring.unsubscribe_tokens().read(_token(url))
    assert (request.user_id, request.kind) == (user["user_id"], "reports")
    # The same link, visible in both bodies (the HTML escapes nothing in it: URL-safe token)
    assert url in _body(message, "plain")
    assert f'href="{url}"' in _body(message, "html")


def test_account_emails_carry_no_unsubscribe_header_or_link(api: Any) -> None:
    user = api.register()
    drain_worker("mail_worker")
    mails = [m for m in parsed_mail() if user["email"] in str(m["To"])]
    assert mails, "no verification email was sent"
    for message in mails:
        assert message["List-Unsubscribe"] is None
        assert message["List-Unsubscribe-Post"] is None
        assert "unsubscribe" not in _body(message, "plain").lower()
        assert "unsubscribe" not in _body(message, "html").lower()


def test_one_click_turns_reports_off_and_the_next_run_consumes_the_record_without_mail(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given two users whose first reports were sent
    user, token, message = _report_for(api)
    other, other_token, _ = _report_for(api)

    # When the first user's mailbox provider sends the one-click POST
    answer = _post(api, _token(_unsubscribe_url(message)))
    assert answer.status_code == 200, answer.body
    assert answer.json_body == {
        "message": "you will no longer receive import reports",
        "kind": "reports",
    }
    assert _preferences(api, token)["reports"] is False
    assert _preferences(api, other_token)["reports"] is True

    # Then the next run sends nothing to that user, and consumes the record
    publish(seed_job(user["user_id"], ok=4, failed=0))
    publish(seed_job(other["user_id"], ok=1, failed=0))
    run = send_reports(report_deps(), FAST_POLICY)
    assert (run["reports_sent"], run["skipped"], run["held"]) == (1, 1, 0)
    assert len(mail_for(user["email"])) == 1  # the first report only
    assert len(mail_for(other["email"])) == 2
    assert live_status_keys() == []
    assert not redis_client().sismember(record.USERS_KEY, user["user_id"])
    assert redis_client().zscore(record.WAITING_KEY, user["user_id"]) is None

    # The history says why; the skipped entry has no PDF
    newest, first = api.call("GET", "/reports", token=token).json_body["items"]
    assert (newest["status"], newest["reason"], newest["sent_at"]) == (
        "skipped",
        "reports are turned off",
        None,
    )
    assert (newest["success_count"], first["status"]) == (4, "sent")
    detail = api.call("GET", f"/reports/{newest['report_id']}", token=token).json_body
    assert detail["download_url"] is None
    assert any("turned reports off" in r.getMessage() for r in caplog.records)

    # Nothing piles up: the next run finds nobody
    assert send_reports(report_deps(), FAST_POLICY)["users_found"] == 0

    # And a second one-click is the same answer (idempotent)
    again = _post(api, _token(_unsubscribe_url(message)))
    assert (again.status_code, again.json_body["kind"]) == (200, "reports")


def test_get_shows_a_button_and_never_unsubscribes(api: Any) -> None:
    _user, token, message = _report_for(api)
    link = _token(_unsubscribe_url(message))

    for _ in range(2):  # a link scanner, then the person
        page = api.call("GET", f"/unsubscribe?token={quote(link, safe='')}&utm_source=mail")
        assert page.status_code == 200, page.body
    assert page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "form-action 'self'" in policy
    html = page.body.decode() if isinstance(page.body, bytes) else page.body
    assert "<script" not in html and "import reports" in html
    assert re.search(r'<form method="post" action="unsubscribe\?token=[^"]+">', html)
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in html
    assert _preferences(api, token)["reports"] is True

    # The button's POST (a browser accepts HTML) answers a confirmation page
    done = _post(api, link, Accept="text/html,application/xhtml+xml")
    assert done.status_code == 200
    assert done.headers["Content-Type"].startswith("text/html")
    assert "unsubscribed" in (done.body.decode() if isinstance(done.body, bytes) else done.body)
    assert _preferences(api, token)["reports"] is False


def test_forged_tampered_cross_user_and_cross_kind_tokens_are_refused(api: Any) -> None:
    user, token, message = _report_for(api)
    other, other_token = api.new_user()
    good = _token(_unsubscribe_url(message))
    tampered = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    forged = UnsubscribeTokens(b"not the key" * 3).sign(user["user_id"], "reports")
    # The signature of one user's/kind's token on another payload
    payload, signature = good.rsplit(".", 1)
    other_payload = wiring.unsubscribe_tokens().sign(other["user_id"], "reports").split(".")[0]
    kind_payload = wiring.unsubscribe_tokens().sign(user["user_id"], "weekly_summary")
    cross_user = f"{other_payload}.{signature}"
    cross_kind = f"{kind_payload.split('.')[0]}.{signature}"
    assert payload != other_payload

    for bad in (tampered, forged, cross_user, cross_kind, "garbage"):
        for method in ("GET", "POST"):
            path = f"/unsubscribe?token={quote(bad, safe='')}"
            answer = _post(api, bad) if method == "POST" else api.call("GET", path)
            assert answer.status_code == 400, (method, bad, answer.body)
            assert answer.json_body["error"] == "invalid_token"
    assert _preferences(api, token)["reports"] is True
    assert _preferences(api, other_token)["reports"] is True


@pytest.mark.parametrize(
    "body",
    [
        "",
        "List-Unsubscribe=Yes",
        "list-unsubscribe=One-Click",
        f"{ONE_CLICK}&{ONE_CLICK}",
        f"{ONE_CLICK}&extra=1",
    ],
)
def test_anything_but_the_one_click_form_is_refused(api: Any, body: str) -> None:
    _user, token, message = _report_for(api)
    answer = _post(api, _token(_unsubscribe_url(message)), body)
    assert answer.status_code == 400, answer.body
    assert _preferences(api, token)["reports"] is True


def test_a_json_body_is_refused_as_the_wrong_media_type(api: Any) -> None:
    _user, token, message = _report_for(api)
    path = f"/unsubscribe?token={quote(_token(_unsubscribe_url(message)), safe='')}"
    answer = api.call("POST", path, {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 415
    assert _preferences(api, token)["reports"] is True


def test_a_missing_token_is_a_validation_error(api: Any) -> None:
    assert api.call("GET", "/unsubscribe").status_code == 400
    assert api.call("POST", "/unsubscribe", raw=ONE_CLICK, headers=FORM).status_code == 400


def _mark(user_id: str, status: str | None) -> None:
    """What the SES events (a bounce) and the admin's clearing write in the users table."""
    bind_models(get_settings(), UserModel)
    item = UserModel.get(f"USER#{user_id}")
    action = UserModel.email_status.set(status) if status else UserModel.email_status.remove()
    item.update(actions=[action])


def test_a_bounced_address_makes_the_record_wait_until_the_mark_is_cleared(api: Any) -> None:
    # Given a verified user whose address bounced, with a processed job
    user, token = api.new_user()
    uid = user["user_id"]
    _mark(uid, "bounced")
    publish(seed_job(uid, ok=3, failed=0))

    # When the reports run, nothing is sent and the record waits out of the due set
    held = send_reports(report_deps(), FAST_POLICY)
    assert (held["held"], held["reports_sent"], held["skipped"]) == (1, 0, 0)
    assert mail_for(user["email"]) == []
    assert redis_client().zscore(record.WAITING_KEY, uid) is not None
    assert send_reports(report_deps(), FAST_POLICY)["users_found"] == 0

    # When the mark is cleared and the record released, the next run sends it
    _mark(uid, None)
    assert wiring.held_reports().release(uid)
    sent = send_reports(report_deps(), FAST_POLICY)
    assert sent["reports_sent"] == 1
    assert len(mail_for(user["email"])) == 1
    (item,) = api.call("GET", "/reports", token=token).json_body["items"]
    assert (item["status"], item["success_count"]) == ("sent", 3)


def test_one_click_as_multipart_form_data_as_rfc_8058_recommends(api: Any) -> None:
    _user, token, message = _report_for(api)
    body = (
        "--b0undary\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        "One-Click\r\n"
        "--b0undary--\r\n"
    )
    answer = _post(
        api,
        _token(_unsubscribe_url(message)),
        body,
        **{"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert answer.status_code == 200, answer.body
    assert _preferences(api, token)["reports"] is False


@pytest.mark.parametrize(
    "body",
    [
        "garbage",
        '--b\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n\r\nx\r\n--b--\r\n',
        '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nTwo\r\n--b--\r\n',
        "--b\r\n\r\nOne-Click\r\n--b--\r\n",
    ],
)
def test_a_bad_multipart_one_click_is_a_400_and_changes_nothing(api: Any, body: str) -> None:
    _user, token, message = _report_for(api)
    answer = _post(
        api,
        _token(_unsubscribe_url(message)),
        body,
        **{"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert answer.status_code == 400, answer.body
    assert _preferences(api, token)["reports"] is True

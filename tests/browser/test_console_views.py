"""Each console view in Chromium against the running stack, checked against the admin API.

The overview shows what ``GET /admin/stats`` answers; a job is found by its id and shows its
failed rows; hostile text (a user's name, a title and an ISBN holding markup) stays text; a
dead letter retried, or discarded (only with a reason), leaves the list, and a retry by filter
requeues what matches; a report's PDF link answers a PDF; a schedule runs now and pauses and
resumes, as does a queue's consumer; an email's HTML is shown in a sandboxed frame; the nav
works from the keyboard and every field has a label; signing out forgets the token. The
``console`` fixture fails any test during which the browser logged a Content-Security-Policy
violation. Sign-in, the refusal of a reader and the verification email in the Mail view are in
``test_console_smoke.py``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.seed import (
    QUEUE_PREFIX,
    World,
    book,
    dead_letter,
    run_schedule,
    submit_bulk,
    wait_for,
)
from tests.browser.support import Account, Api, ConsolePage, register
from tests.local_stack import RunningStack

# Markup that would run if a view ever parsed data as HTML: each sets window.pwned.
SCRIPT = "<script>window.pwned = 'name'</script>"
TITLE = "<script>window.pwned = 'title'</script>"
BAD_ISBN = '<img src=x onerror="window.pwned = 1">'
REPORT_QUEUE = f"{QUEUE_PREFIX}-report-requests"


def shown(value: float) -> str:
    """A number as the console writes it (``toLocaleString("en-US")``: 1,234; 200.0 is 200)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _signed_in(console: ConsolePage, admin: Account, view: str) -> None:
    console.sign_in(admin)
    console.wait_visible("#view-overview")
    console.go(view)


def _pwned(console: ConsolePage) -> Any:
    return console.driver.execute_script("return window.pwned")


@pytest.fixture(scope="module")
def hostile_job(stack: RunningStack, admin: Account) -> tuple[Account, str]:
    """A reader named with a <script>, whose bulk file's bad row holds markup in its title and
    ISBN; the file's job inserted by ``bulk_insert``. ``(reader, job id)``."""
    reader = register(stack.url, f"hostile-{uuid.uuid4().hex[:6]}@example.com", SCRIPT)
    rows = [book(60), {**book(61), "title": TITLE, "isbn": BAD_ISBN}]
    job_id = submit_bulk(reader, stack.url, rows)
    run_schedule(admin, stack.url, "bulk_insert")
    return reader, job_id


def test_the_overview_shows_what_the_admin_stats_answer(
    console: ConsolePage, admin: Account, admin_api: Api, world: World
) -> None:
    del world  # jobs, reports and a dead letter to count
    console.sign_in(admin)
    console.wait_text("#status", "Overview loaded")

    # The scheduler runs at its real rates: compare once two reads around the page's agree.
    for _ in range(3):
        before = admin_api.get("/admin/stats")
        console.find("#overview-refresh").click()
        console.wait_until(lambda _: "Overview loaded" in console.status(), "a refresh")
        after = admin_api.get("/admin/stats")
        if {k: v for k, v in before.items() if k not in ("generated_at", "jobs_since")} == {
            k: v for k, v in after.items() if k not in ("generated_at", "jobs_since")
        }:
            break
    stats = after
    assert stats["unavailable"] == []
    expected = {f"jobs.{k}": v for k, v in stats["jobs"].items()}
    for kind in ("sent", "failed"):
        for window, value in stats["reports"][kind].items():
            expected[f"reports.{kind}.{window}"] = value
    expected |= {f"ses.{k}": v for k, v in stats["ses"].items()}
    expected["dead_letters"] = stats["dead_letters"]
    page = {e.get_attribute("data-stat"): e.text for e in console.find_all("[data-stat]")}
    assert page == {key: shown(value) for key, value in expected.items()}
    assert stats["jobs"]["completed"] >= 3 and stats["reports"]["sent"]["last_24_hours"] >= 2

    queues = console.text("#overview-queues")
    for queue in stats["queues"]:
        assert queue["name"] in queues and queue["consumer"] in queues
    schedules = console.text("#overview-schedules")
    for schedule in admin_api.get("/admin/schedules")["items"]:
        assert schedule["name"] in schedules and schedule["expression"] in schedules

    # One bar per point of the series, each chart captioned with its total.
    points = stats["series"]["points"]
    figures = console.find_all("#overview-chart figure")
    assert len(figures) == 2
    for figure, key in zip(figures, ("reports_sent", "rows_imported"), strict=True):
        assert len(figure.find_elements(By.CSS_SELECTOR, "svg rect.bar")) == len(points)
        total = sum(p[key] for p in points)
        assert figure.find_element(By.TAG_NAME, "figcaption").text.endswith(
            f"{shown(total)} in all"
        )
    assert console.errors() == []


def test_a_job_is_found_by_its_id_and_shows_its_failed_rows(
    console: ConsolePage, admin: Account, admin_api: Api, world: World
) -> None:
    job_id = world.jobs["ada_json"]
    _signed_in(console, admin, "jobs")
    console.wait_text("#status", "shown")

    console.type("#jobs-q", job_id)
    console.find("#jobs-form button[type=submit]").click()
    console.wait_until(lambda _: console.status() == "1 job shown.", "the search by id")
    (row,) = console.find_all("#jobs-results tbody tr")
    assert job_id in row.text and world.readers[0].email in row.text
    row.find_element(By.LINK_TEXT, job_id).click()

    console.wait_text("#status", "Job loaded")
    detail = admin_api.get(f"/admin/jobs/{job_id}")
    assert console.text("#job-title") == f"Job {job_id}"
    count = detail["error_count"]
    assert console.text("#job-error-count") == f"{count} row{'' if count == 1 else 's'} failed."
    cells = [
        [cell.text for cell in tr.find_elements(By.TAG_NAME, "td")]
        for tr in console.find_all("#job-errors tbody tr")
    ]
    assert cells == [[str(e["row"]), e["isbn"], e["reason"]] for e in detail["errors"]]
    console.find("#view-job a[href='#jobs']").click()
    console.wait_visible("#view-jobs")
    assert console.find("#jobs-q").get_attribute("value") == job_id  # the search is kept


def test_filters_narrow_the_search_to_one_users_exports(
    console: ConsolePage, admin: Account, world: World
) -> None:
    ada = world.readers[0]
    _signed_in(console, admin, "jobs")
    console.wait_text("#status", "shown")

    console.type("#jobs-user", ada.email)
    console.find("#jobs-type option[value=export]").click()
    console.find("#jobs-form button[type=submit]").click()

    console.wait_until(lambda _: console.status() == "1 job shown.", "the filtered search")
    (row,) = console.find_all("#jobs-results tbody tr")
    assert world.jobs["ada_export"] in row.text and "export" in row.text


def test_markup_in_a_name_a_title_or_an_isbn_is_shown_as_text(
    console: ConsolePage, admin: Account, hostile_job: tuple[Account, str]
) -> None:
    reader, job_id = hostile_job
    _signed_in(console, admin, f"jobs/{job_id}")

    console.wait_text("#status", "Job loaded")
    (cell,) = [td for td in console.find_all("#job-errors tbody td") if td.text.startswith("<img")]
    assert cell.text == BAD_ISBN
    assert console.find_all("#job-errors img, #job-errors script") == []

    console.go("mail")
    console.wait_text("#mail-list", reader.email)
    (row,) = [r for r in console.find_all("#mail-list tbody tr") if reader.email in r.text]
    row.find_element(By.TAG_NAME, "a").click()
    console.wait_text("#mail-message-text", f"Hello {SCRIPT},")
    assert console.find_all("#view-mail-message script") == []
    assert _pwned(console) is None


def test_retrying_a_dead_letter_takes_it_off_the_list(
    console: ConsolePage, admin: Account, admin_api: Api, stack: RunningStack
) -> None:
    owner = register(stack.url, name="Dead Letter Owner")
    entry_id = dead_letter(stack, admin, owner.user_id)
    _signed_in(console, admin, "dead-letters")
    row = console.find(f'[data-entry-id="{entry_id}"]')
    assert owner.user_id in row.text

    console.find(f'[aria-label="Retry {entry_id}"]').click()

    console.wait_text("#status", f"Requeued {entry_id}.")
    assert console.find_all(f'[data-entry-id="{entry_id}"]') == []
    assert entry_id not in {e["entry_id"] for e in admin_api.get("/admin/dlq")["items"]}


def test_discarding_a_dead_letter_needs_a_reason_and_takes_it_off_the_list(
    console: ConsolePage, admin: Account, admin_api: Api, stack: RunningStack
) -> None:
    owner = register(stack.url, name="Discarded Owner")
    entry_id = dead_letter(stack, admin, owner.user_id)
    reason = f"malformed by a test, {uuid.uuid4().hex[:8]}"
    _signed_in(console, admin, "dead-letters")
    console.find(f'[aria-label="Discard {entry_id}"]').click()
    dialog = console.wait_visible("#discard-dialog")
    assert console.text("#discard-entry") == entry_id

    console.find("#discard-form button[type=submit]").click()  # no reason: the form refuses
    assert dialog.is_displayed()
    assert console.find("#discard-reason").get_attribute("validationMessage")
    console.type("#discard-reason", reason)
    console.find("#discard-form button[type=submit]").click()

    console.wait_text("#status", f"Discarded {entry_id}.")
    assert not dialog.is_displayed()
    assert console.find_all(f'[data-entry-id="{entry_id}"]') == []
    assert entry_id not in {e["entry_id"] for e in admin_api.get("/admin/dlq")["items"]}
    assert admin.token not in stack.output()


def test_retry_matching_requeues_every_dead_letter_of_a_source(
    console: ConsolePage, admin: Account, admin_api: Api, stack: RunningStack
) -> None:
    # Report requests of users with nothing to report: the worker takes them without a word.
    # Put straight into the dead-letter queue, as SQS's redrive puts a message there.
    sqs = boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{stack.aws_port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.get_queue_url(QueueName=f"{REPORT_QUEUE}-dlq")["QueueUrl"]
    owners = [register(stack.url, name=f"Owner {n}") for n in range(2)]
    for owner in owners:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"user_id": owner.user_id}))
    wait_for(
        lambda: True
        if sum(e["source"] == REPORT_QUEUE for e in admin_api.get("/admin/dlq")["items"]) == 2
        else None,
        "two report requests in the dead-letter queue",
    )
    _signed_in(console, admin, "dead-letters")
    console.wait_text("#dead-letters-list", owners[1].user_id)

    console.type("#retry-source", REPORT_QUEUE)
    console.find("#retry-matching-form button[type=submit]").click()

    console.wait_text("#status", "Requeued 2 dead letters.")
    console.wait_no_text("#dead-letters-list", REPORT_QUEUE)
    assert all(e["source"] != REPORT_QUEUE for e in admin_api.get("/admin/dlq")["items"])


def _open_in_new_tab(console: ConsolePage, link: WebElement) -> str:
    """Click ``link`` (a new tab); the URL that tab loaded. Back on the console afterwards."""
    console_tab = console.driver.current_window_handle
    link.click()
    console.wait_until(lambda d: len(d.window_handles) == 2, "a new tab")
    (tab,) = [h for h in console.driver.window_handles if h != console_tab]
    console.driver.switch_to.window(tab)
    console.wait_until(lambda d: d.current_url != "about:blank", "the new tab's page")
    url = str(console.driver.current_url)
    console.driver.close()
    console.driver.switch_to.window(console_tab)
    return url


def test_a_users_report_opens_as_a_pdf(console: ConsolePage, admin: Account, world: World) -> None:
    ada = world.readers[0]
    _signed_in(console, admin, "reports")
    console.type("#reports-user", ada.email)
    console.find("#reports-form button[type=submit]").click()

    console.wait_text("#reports-results", f"Reports of {ada.email}")
    link = console.find("#reports-results a[target=_blank]")
    assert link.text == "Open the PDF"
    assert set(str(link.get_attribute("rel")).split()) == {"noopener", "noreferrer"}
    href = str(link.get_attribute("href"))
    pdf = requests.get(href, timeout=30)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert _open_in_new_tab(console, link) == href


def test_a_report_email_shows_its_html_in_a_sandboxed_frame_and_its_pdf_opens(
    console: ConsolePage, admin: Account, world: World
) -> None:
    ada = world.readers[0]
    _signed_in(console, admin, "mail")
    console.wait_text("#mail-list", "Your books import report")
    (row,) = [
        r
        for r in console.find_all("#mail-list tbody tr")
        if ada.email in r.text and "Your books import report" in r.text
    ]
    row.find_element(By.TAG_NAME, "a").click()
    console.wait_text("#status", "Email loaded")

    frame = console.find("#mail-message-html iframe")
    assert (
        frame.get_attribute("sandbox")
        == "allow-scripts allow-popups allow-popups-to-escape-sandbox"
    )
    console.driver.switch_to.frame(frame)
    try:
        console.wait_until(
            lambda d: f"Hello {ada.name}" in d.find_element(By.TAG_NAME, "body").text,
            "the email's HTML in the frame",
        )
        # An opaque origin: the frame cannot read the console's storage (and its token).
        assert console.driver.execute_script("return window.origin") == "null"
    finally:
        console.driver.switch_to.default_content()

    (attachment,) = console.find_all("#mail-message-attachments a")
    assert attachment.text.endswith(".pdf")
    pdf = requests.get(str(attachment.get_attribute("href")), timeout=30)
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def _state(admin_api: Api, path: str, key: str, name: str) -> str:
    (item,) = [i for i in admin_api.get(path)["items"] if i[key] == name]
    return str(item["state"])


def test_a_schedule_runs_now_and_a_schedule_and_a_consumer_pause_and_resume(
    console: ConsolePage, admin: Account, admin_api: Api
) -> None:
    _signed_in(console, admin, "schedules")
    console.wait_text("#status", "Schedules and queues loaded")

    console.find('[aria-label="Run send_reports now"]').click()
    console.wait_text("#status", "send_reports ran", timeout=40)
    assert "dispatched" in console.text("#schedules-run-fields")
    console.wait_text('[data-schedule="send_reports"] table', "admin")  # the run, by its trigger

    try:
        console.find('[aria-label="Pause bulk_insert"]').click()
        console.wait_text("#status", "bulk_insert is paused.")
        assert _state(admin_api, "/admin/schedules", "name", "bulk_insert") == "paused"
        console.find('[aria-label="Resume bulk_insert"]').click()
        console.wait_text("#status", "bulk_insert is enabled.")
        assert _state(admin_api, "/admin/schedules", "name", "bulk_insert") == "enabled"

        console.find('[aria-label="Pause bulk_worker"]').click()
        console.wait_text("#status", "bulk_worker is paused.")
        assert _state(admin_api, "/admin/queues", "consumer", "bulk_worker") == "paused"
        console.find('[aria-label="Resume bulk_worker"]').click()
        console.wait_text("#status", "bulk_worker is enabled.")
        assert _state(admin_api, "/admin/queues", "consumer", "bulk_worker") == "enabled"
    finally:  # whatever failed, the other tests need both running
        admin_api.post("/admin/schedules/bulk_insert/resume")
        admin_api.post("/admin/queues/bulk_worker/resume")


def _active(console: ConsolePage) -> WebElement:
    return console.driver.switch_to.active_element


def test_the_nav_works_from_the_keyboard_and_every_field_has_a_label(
    console: ConsolePage, admin: Account
) -> None:
    console.sign_in(admin)
    console.wait_text("#status", "Overview loaded")
    console.wait_visible("#nav-mail")
    # A click on the top bar's title (not focusable) moves where Tab starts from, as a user's
    # click would; Shift+Tab from there reaches the page's first stop.
    console.find(".brand").click()
    _active(console).send_keys(Keys.SHIFT, Keys.TAB)
    reached = [_active(console).text]
    for _ in range(6):
        _active(console).send_keys(Keys.TAB)
        reached.append(_active(console).text)
    assert reached == [
        "Skip to the content",
        "Overview",
        "Jobs",
        "Dead letters",
        "Reports",
        "Schedules and queues",
        "Mail",
    ]
    _active(console).send_keys(Keys.SHIFT, Keys.TAB)  # back to Schedules and queues ...
    for _ in range(3):
        _active(console).send_keys(Keys.SHIFT, Keys.TAB)  # ... Reports, Dead letters, Jobs
    _active(console).send_keys(Keys.ENTER)

    console.wait_visible("#view-jobs")
    assert console.driver.current_url.endswith("/console#jobs")
    assert _active(console).get_attribute("id") == "jobs-title"  # focus moved to the view
    assert console.find('#nav a[href="#jobs"]').get_attribute("aria-current") == "page"
    _active(console).send_keys(Keys.TAB)
    assert _active(console).get_attribute("id") == "jobs-q"
    unlabelled = console.driver.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter((e) => e.type !== 'hidden' && e.labels.length === 0).map((e) => e.id)"
    )
    assert unlabelled == []


def test_the_token_lives_in_session_storage_only_and_signing_out_forgets_it(
    console: ConsolePage, admin: Account, stack: RunningStack
) -> None:
    console.sign_in(admin)
    console.wait_text("#status", "Overview loaded")
    storage = console.driver.execute_script("return {...sessionStorage}")
    assert list(storage) == ["books-api-console-token"]
    token = storage["books-api-console-token"]
    assert console.driver.get_cookies() == []
    assert console.driver.execute_script("return localStorage.length") == 0
    assert token not in console.driver.current_url

    console.find("#sign-out").click()

    console.wait_visible("#view-sign-in")
    assert console.driver.execute_script("return sessionStorage.length") == 0
    assert not console.find("#nav").is_displayed()
    assert token not in stack.output()


def test_the_skip_link_moves_focus_into_the_open_view_without_changing_it(
    console: ConsolePage, admin: Account
) -> None:
    _signed_in(console, admin, "jobs")
    console.wait_visible("#view-jobs")
    console.find(".brand").click()  # Tab starts from the top bar, as after a user's click
    _active(console).send_keys(Keys.SHIFT, Keys.TAB)
    assert _active(console).text == "Skip to the content"
    _active(console).send_keys(Keys.ENTER)

    assert console.driver.current_url.endswith("/console#jobs")
    assert console.find("#view-jobs").is_displayed()
    assert not console.find("#view-overview").is_displayed()
    assert _active(console).get_attribute("id") == "jobs-title"
    inside_main = "return document.querySelector('main').contains(document.activeElement)"
    assert console.driver.execute_script(inside_main) is True


def test_the_account_area_is_hidden_before_sign_in_and_after_sign_out(
    console: ConsolePage, admin: Account
) -> None:
    console.open()
    console.wait_visible("#view-sign-in")
    assert not console.find("#account").is_displayed()
    assert not console.find("#sign-out").is_displayed()

    console.sign_in(admin)
    console.wait_visible("#sign-out")
    console.find("#sign-out").click()

    console.wait_visible("#view-sign-in")
    assert not console.find("#account").is_displayed()


def test_a_token_refused_mid_session_says_the_session_has_ended(
    console: ConsolePage, admin: Account
) -> None:
    _signed_in(console, admin, "jobs")
    console.wait_text("#status", "shown")
    # The token as an expired or revoked one is seen by the API: refused with a 401.
    console.driver.execute_script(
        "sessionStorage.setItem('books-api-console-token', 'not-a-valid-token')"
    )
    console.find("#jobs-form button[type=submit]").click()

    console.wait_visible("#view-sign-in")
    console.wait_text("#status", "Your session has ended: sign in again.")
    assert "access token" not in console.status()
    assert not console.find("#account").is_displayed()


def test_next_page_appends_and_counts_every_job_shown_and_a_refused_search_clears_them(
    console: ConsolePage, admin: Account, world: World
) -> None:
    del world  # at least four jobs
    _signed_in(console, admin, "jobs")
    console.wait_text("#status", "shown")
    # Pages of two jobs: the form sends every named field it holds, this one as `limit`.
    console.driver.execute_script(
        "const f = document.getElementById('jobs-form');"
        "f.append(Object.assign(document.createElement('input'),"
        " {type: 'hidden', name: 'limit', value: '2'}));"
    )
    console.find("#jobs-form button[type=submit]").click()
    console.wait_until(lambda _: console.status() == "2 jobs shown; there are more.", "page 1")
    console.find("#jobs-next").click()
    console.wait_until(lambda _: console.status().startswith("4 jobs shown"), "page 2")
    assert len(console.find_all("#jobs-results tbody tr")) == 4
    captions = [c.text for c in console.find_all("#jobs-results caption")]
    assert captions == ["Jobs, newest first", "Page 2"]

    console.type("#jobs-from", "12/31/2026")  # Chromium's date field, en-US order
    console.type("#jobs-to", "01/01/2026")
    console.find("#jobs-form button[type=submit]").click()
    console.wait_until(lambda _: "error" in console.find("#status").get_attribute("class"), "")
    assert console.find_all("#jobs-results *") == []
    assert not console.find("#jobs-next").is_displayed()

    console.go("reports")  # a view that loads nothing until asked: its status line is empty
    console.wait_visible("#view-reports")
    assert console.status() == ""


def test_a_refused_discard_reason_keeps_the_dialog_open_with_its_text(
    console: ConsolePage, admin: Account, admin_api: Api, stack: RunningStack
) -> None:
    owner = register(stack.url, name="Kept Owner")
    entry_id = dead_letter(stack, admin, owner.user_id)
    _signed_in(console, admin, "dead-letters")
    console.find(f'[aria-label="Discard {entry_id}"]').click()
    dialog = console.wait_visible("#discard-dialog")
    field = console.find("#discard-reason")
    assert field.tag_name == "input" and field.get_attribute("maxlength") == "500"
    # Only invisible characters: the API refuses it (400); the dialog stays, text and all.
    field.send_keys("\u200b\u2060")
    console.find("#discard-form button[type=submit]").click()

    console.wait_text("#discard-error", "only invisible characters")
    assert dialog.is_displayed()
    assert field.get_attribute("value") == "\u200b\u2060"
    assert entry_id in {e["entry_id"] for e in admin_api.get("/admin/dlq")["items"]}

    field.send_keys(Keys.END, " after all: a test entry")
    console.find("#discard-form button[type=submit]").click()
    console.wait_text("#status", f"Discarded {entry_id}.")
    assert not dialog.is_displayed()
    assert console.find_all(f'[data-entry-id="{entry_id}"]') == []


def test_the_page_with_a_trailing_slash_lands_on_the_page_with_its_script(
    console: ConsolePage,
) -> None:
    console.driver.get(f"{console.url}/#jobs")  # /console/#jobs: redirected, fragment kept

    console.wait_visible("#view-sign-in")  # the script ran: it showed the sign-in
    assert console.driver.current_url.endswith("/console#jobs")
    assert console.find(".top").value_of_css_property("display") == "flex"  # styled

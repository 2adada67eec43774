"""``make screenshots``: a PNG of each console view, with realistic data, in ``docs/console/``.

Runs only with ``CONSOLE_SCREENSHOTS=1`` (``make screenshots``), never in ``make test``: the
images are committed, and a test run must not rewrite them. The data is ``seed.seed_world``'s
(readers, bulk jobs with failed rows, an export, report emails, a dead letter); each view is
shot once it shows that data, at 1280 px wide and as tall as the view (at most 2,000 px).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.seed import World
from tests.browser.support import Account, ConsolePage

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
MAX_HEIGHT = 2000

pytestmark = pytest.mark.skipif(
    os.environ.get("CONSOLE_SCREENSHOTS") != "1",
    reason="writes docs/console/*.png: run `make screenshots`",
)


def _shoot(console: ConsolePage, name: str) -> None:
    """Save the shown view as ``docs/console/<name>.png``, as tall as its content."""
    console.driver.execute_script("window.scrollTo(0, 0)")
    height = console.driver.execute_script("return document.documentElement.scrollHeight")
    console.screenshot(DOCS / f"{name}.png", height=min(max(int(height), 900), MAX_HEIGHT))


def test_each_view_is_shot_with_realistic_data(
    console: ConsolePage, admin: Account, world: World
) -> None:
    ada, grace, _alan = world.readers
    console.sign_in(admin)
    console.wait_visible("#view-overview")
    console.wait_until(
        lambda d: console.text('[data-stat="jobs.completed"]') not in ("", "0"),
        "the overview's completed jobs",
    )
    console.wait_visible("#overview-schedules table")
    _shoot(console, "overview")

    console.go("jobs")
    console.wait_text("#jobs-results", grace.email)
    _shoot(console, "jobs")

    console.go(f"jobs/{world.jobs['ada_json']}")
    console.wait_text("#job-errors", "check digit")
    _shoot(console, "job-detail")

    console.go("dead-letters")
    console.wait_text("#dead-letters-list", world.dead_letter)
    _shoot(console, "dead-letters")

    console.go("reports")
    console.type("#reports-user", ada.email)
    console.find("#reports-form button[type=submit]").click()
    console.wait_text("#reports-results", ada.email)
    _shoot(console, "reports")

    console.go("schedules")
    console.wait_text("#schedules-list", "send_reports")
    console.wait_visible("#queues-list table")
    _shoot(console, "schedules")

    console.go("mail")
    console.wait_text("#mail-list", "Your books import report")
    _shoot(console, "mail")

    assert console.errors() == []

"""Fixtures of the browser tier: one running stack, its accounts, one headless Chromium.

- ``stack``: the real runner (``python -m localdev.runner``, what ``make run`` execs) on free
  ports, started once for the whole tier, with ``ADMIN_EMAILS`` naming :data:`ADMIN_EMAIL` and
  the schedules at their real rates (``SCHEDULE_SPEEDUP=1``: tests run schedules themselves).
- ``admin`` and ``member``: an admin and a reader without the role, registered and logged in
  (``Account``: email, password, user id, token); ``admin_api``: ``Api`` with the admin's token.
- ``world``: realistic data made once, on first use (``seed.seed_world``: readers, bulk jobs
  with failed rows, an export, report emails with PDFs, a queue dead letter).
- ``console``: a ``ConsolePage`` on the stack's ``/console``, signed out and with its browser
  log emptied before each test; after the test, any Content-Security-Policy violation the
  browser logged fails it.

Tests that change shared data (retry or discard a dead letter, pause a schedule) make their
own (``seed.dead_letter``) or put it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.seed import World, seed_world
from tests.browser.support import CHROMEDRIVER, CHROMIUM, Account, Api, ConsolePage, chromium
from tests.browser.support import register as register_account
from tests.local_stack import RunningStack, start_runner, stop_runner

ADMIN_EMAIL = "operator@example.com"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what this folder holds, so ``-m browser`` / ``-m "not browser"`` select it."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One local stack for the tier, stopped with SIGINT at the end."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make browser-deps` (apt)")
    running = start_runner(
        tmp_path_factory.mktemp("browser"),
        extra_env={"ADMIN_EMAILS": ADMIN_EMAIL, "SCHEDULE_SPEEDUP": "1"},
    )
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_runner(running)


@pytest.fixture(scope="session")
def admin(stack: RunningStack) -> Account:
    """An admin (registered with an ``ADMIN_EMAILS`` address), logged in."""
    account = register_account(stack.url, ADMIN_EMAIL, "Olive Operator")
    assert Api(stack.url, account.token).get("/users/me")["role"] == "admin"
    return account


@pytest.fixture(scope="session")
def member(stack: RunningStack) -> Account:
    """A reader without the admin role, logged in."""
    return register_account(stack.url, "reader@example.com", "Rita Reader")


@pytest.fixture(scope="session")
def admin_api(stack: RunningStack, admin: Account) -> Api:
    """The stack's API with the admin's token."""
    return Api(stack.url, admin.token)


@pytest.fixture(scope="session")
def world(stack: RunningStack, admin: Account) -> World:
    """Realistic data, made once for the session (``seed.seed_world``)."""
    return seed_world(stack, admin)


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    """One headless Chromium for the tier (1280x900)."""
    browser = chromium()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def console(driver: WebDriver, stack: RunningStack) -> Iterator[ConsolePage]:
    """The console page, signed out, its browser log empty; fails on any CSP violation."""
    page = ConsolePage(driver, stack.url)
    page.reset()
    yield page
    violations = page.csp_violations()
    assert not violations, f"Content-Security-Policy violations: {violations}"

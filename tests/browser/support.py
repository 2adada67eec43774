"""What the browser tests share: Debian's Chromium under Selenium, the console page, the API.

``chromium()`` starts headless Chromium from ``/usr/bin/chromium`` through ``/usr/bin/chromedriver``
(both from apt, ``make browser-deps``): the driver's path is given, so Selenium Manager never
runs and nothing is downloaded. ``ConsolePage`` drives ``/console`` (open a view, sign in, wait
for text) and keeps the browser's console log, so a test can assert that no Content-Security-
Policy violation happened. ``Api`` calls the stack's API with ``requests``, to seed data and to
compare what the page shows with what the API answers.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)
WAIT_SECONDS = 15.0
PASSWORD = "correct-horse-battery"
# Chromium logs a refused script, style, frame or request with this phrase.
CSP_PHRASE = "Content Security Policy"

_CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's own sandbox cannot start
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--hide-scrollbars",
    # Nothing leaves the machine: no component updates, sync, translation or field trials.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
)


def chromium(window: tuple[int, int] = WINDOW) -> WebDriver:
    """Headless Chromium of ``window`` size (CSS pixels), its console log kept, times in UTC."""
    # Selenium Manager runs only when no driver path is given; offline, it could never fetch.
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TZ": "UTC"})
    driver = webdriver.Chrome(service=service, options=options)
    fit_viewport(driver, *window)
    return driver


def fit_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Size the window so the page's viewport is ``width`` x ``height`` CSS pixels (the window
    is larger than its viewport, even headless)."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])


@dataclass(frozen=True)
class Account:
    """A registered user of the stack, logged in."""

    email: str
    password: str
    user_id: str
    token: str
    name: str


class ApiError(AssertionError):
    """The API answered a status the caller did not expect."""


class Api:
    """JSON calls to the stack's API, as ``token``'s user (or anonymously)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self._http = requests.Session()
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """``method path`` (``json=``, ``params=``, ``data=``, ``headers=`` as for requests);
        the parsed JSON answer (None for an empty body); ``ApiError`` for another status."""
        answer = self._http.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        if answer.status_code != expect:
            raise ApiError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, expect, **kwargs)


def register(base: str, email: str | None = None, name: str = "Reader") -> Account:
    """Register ``email`` (a fresh one by default) and log in."""
    email = email or f"reader-{uuid.uuid4().hex[:8]}@example.com"
    anonymous = Api(base)
    user = anonymous.post(
        "/auth/register", 201, json={"email": email, "password": PASSWORD, "name": name}
    )
    login = anonymous.post("/auth/login", json={"email": email, "password": PASSWORD})
    return Account(email, PASSWORD, user["user_id"], login["access_token"], name)


class ConsolePage:
    """The admin console in one browser tab, and the browser's console log since the test began.

    Locators are CSS selectors: the page's ids (``#overview-jobs``, ``#jobs-q``...) are stable.
    """

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver = driver
        self.base = base
        self.log: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"{self.base}/console"

    def open(self, view: str = "") -> None:
        """Load the page at ``#view`` (``jobs``, ``jobs/<id>``, ``mail``...; the default view
        for "")."""
        self.driver.get(f"{self.url}#{view}" if view else self.url)

    def go(self, view: str) -> None:
        """Move to ``#view`` inside the loaded page (the router runs, nothing reloads)."""
        self.driver.execute_script("location.hash = arguments[0]", view)

    def sign_in(self, account: Account, view: str = "") -> None:
        """Open the page and sign in through its form; returns once the sign-in is over (the
        nav for an admin, the refusal for anyone else)."""
        self.open(view)
        self.type("#sign-in-email", account.email)
        self.type("#sign-in-password", account.password)
        self.find("#sign-in-form button[type=submit]").click()
        self.wait_visible("#nav, #view-refused")

    def find(self, css: str) -> WebElement:
        """The first element matching ``css`` (waits until it exists)."""
        return self._wait(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)),
            f"no element {css!r}",
        )

    def find_all(self, css: str) -> list[WebElement]:
        """Every element matching ``css`` now (no wait)."""
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def type(self, css: str, text: str) -> None:
        """Replace the value of the input ``css`` with ``text``."""
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def wait_visible(self, css: str, timeout: float = WAIT_SECONDS) -> WebElement:
        """The first displayed element matching ``css`` (a selector list: whichever shows)."""

        def shown(driver: WebDriver) -> WebElement | None:
            elements = driver.find_elements(By.CSS_SELECTOR, css)
            return next((e for e in elements if e.is_displayed()), None)

        return self._wait(shown, f"{css!r} never became visible", timeout)

    def wait_text(self, css: str, text: str, timeout: float = WAIT_SECONDS) -> WebElement:
        """The first element matching ``css`` once its visible text contains ``text``."""
        self._wait(
            expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text),
            f"{css!r} never showed {text!r}",
            timeout,
        )
        return self.find(css)

    def wait_no_text(self, css: str, text: str, timeout: float = WAIT_SECONDS) -> None:
        """Wait until no element matching ``css`` shows ``text`` (a row left a list)."""

        def gone(driver: WebDriver) -> bool:
            return all(text not in e.text for e in driver.find_elements(By.CSS_SELECTOR, css))

        self._wait(gone, f"{css!r} still shows {text!r}", timeout)

    def wait_until(self, condition: Any, message: str, timeout: float = WAIT_SECONDS) -> Any:
        """Wait for ``condition(driver)`` to return something truthy (Selenium's own waits)."""
        return self._wait(condition, message, timeout)

    def text(self, css: str) -> str:
        """The visible text of the first element matching ``css``."""
        return str(self.find(css).text)

    def status(self) -> str:
        """What the page announced last (its ``role=status`` line)."""
        return self.text("#status")

    def browser_log(self) -> list[dict[str, Any]]:
        """Every console entry since the test began (``level``, ``message``, ``source``)."""
        self.log.extend(self.driver.get_log("browser"))
        return list(self.log)

    def csp_violations(self) -> list[str]:
        """The console's Content-Security-Policy violation messages since the test began."""
        return [e["message"] for e in self.browser_log() if CSP_PHRASE in e["message"]]

    def errors(self) -> list[str]:
        """The console's error entries (SEVERE) since the test began."""
        return [e["message"] for e in self.browser_log() if e["level"] == "SEVERE"]

    def screenshot(self, path: Path, height: int | None = None) -> None:
        """Save the viewport as a PNG at ``path``; with ``height``, the viewport is that tall for
        the shot (a long view in one image), then back to its size."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if height is None:
            self.driver.save_screenshot(str(path))
            return
        width, was = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        fit_viewport(self.driver, width, height)
        try:
            self.driver.save_screenshot(str(path))
        finally:
            fit_viewport(self.driver, width, was)

    def reset(self) -> None:
        """Sign out (sessionStorage cleared), leave the page, and forget the log so far."""
        self.driver.get(self.url)
        self.driver.execute_script("sessionStorage.clear()")
        self.driver.get("about:blank")
        self.driver.get_log("browser")
        self.log = []

    def _wait(self, condition: Any, message: str, timeout: float = WAIT_SECONDS) -> Any:
        try:
            wait = WebDriverWait(
                self.driver,
                timeout,
                poll_frequency=0.1,
                # The views re-render: an element found a moment ago may be replaced.
                ignored_exceptions=(StaleElementReferenceException,),
            )
            return wait.until(condition)
        except TimeoutException:
            says = self._says()
            raise AssertionError(f"{message} within {timeout} s; page says {says!r}") from None

    def _says(self) -> str:
        try:
            return str(self.driver.find_element(By.ID, "status").text)
        except Exception:  # the page may not be the console at all
            return "(no status line)"

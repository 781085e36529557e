"""Helpers for the real-browser tests: chromium flags, waiting on Streamlit, signing in."""

from __future__ import annotations

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
SHOTS = REPO / "test-artifacts" / "e2e"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settle(page) -> None:
    """Wait until Streamlit has finished the rerun an action started: its status widget gone and
    no stale element left (a widget whose key changed is shown twice until the run ends)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')")


def sign_in(page, url: str, username: str, password: str) -> None:
    """Sign in as from a fresh browser (no session cookie to restore), then wait until the run
    after sign-in has handed the new session's cookie to the browser."""
    page.context.clear_cookies()
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Projects").wait_for()
    page.wait_for_function("() => document.cookie.includes('unlearn_session=')")
    settle(page)


def open_options(page, box: str, exact: bool = True):
    """Open a select box's list and return its options. A rerun that lands just after the click
    redraws the box closed, so the click is tried again until the list shows."""
    options = page.get_by_role("option")
    for _ in range(5):
        settle(page)
        page.get_by_role("combobox", name=box, exact=exact).click()
        try:
            options.first.wait_for(timeout=3_000)
            return options
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: the list closed again
            continue
    raise AssertionError(f"the {box!r} list never opened")


def choose(page, box: str, option: str) -> None:
    open_options(page, box).filter(has_text=option).first.click()
    settle(page)


def launch_run(page, stage: str, settings: dict[str, str]) -> None:
    page.get_by_role("tab", name="Launch").click()
    choose(page, "Project", "Tiny")
    choose(page, "Stage", stage)
    settle(page)
    for label, value in settings.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Launch").click()
    page.get_by_text("Follow it on the Runs tab").wait_for()
    page.get_by_role("tab", name="Runs").click()

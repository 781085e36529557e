"""Helpers for the real-browser tests: chromium flags, waiting on Streamlit, signing in."""

from __future__ import annotations

import time

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


# Installed in every page before Streamlit loads: when the person last acted (a pointer, a key,
# typed text) and when a script run was last seen going on (the app's own data-test-script-state
# attribute). A rerun can start well after the action on a busy machine, so a fixed pause is not
# enough to know that the action's run has come and gone.
RUN_WATCH = """
(() => {
  window.__lastAction = 0;
  window.__lastRun = -1;
  const acted = () => { window.__lastAction = performance.now(); };
  for (const kind of ['pointerdown', 'keydown', 'input', 'change'])
    document.addEventListener(kind, acted, true);
  new MutationObserver(records => {
    for (const r of records)
      if (r.oldValue === 'running' || r.target.getAttribute('data-test-script-state') === 'running')
        window.__lastRun = performance.now();
  }).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                        attributeFilter: ['data-test-script-state']});
})();
"""
QUIET_MS = 2_000  # an action with no run seen this long after it started none
AFTER_RUN_MS = 300  # a button's st.rerun() starts its second run well within this

SETTLED = """
([quiet, afterRun]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (window.__lastAction === undefined) return true;
  const now = performance.now();
  if (window.__lastRun > window.__lastAction) return now - window.__lastRun > afterRun;
  return now - window.__lastAction > quiet;
}
"""


def watched(page):
    """A page whose actions and script runs settle() can follow (every page a test opens)."""
    page.add_init_script(RUN_WATCH)
    return page


def settle(page) -> None:
    """Wait until the rerun the last action started has finished: a run seen after the action
    and none for AFTER_RUN_MS since (so a chain of reruns is seen whole), or none started
    within QUIET_MS; the app not running, and no stale element left (a widget whose key
    changed is shown twice until the run ends)."""
    page.wait_for_timeout(100)
    page.wait_for_function(SETTLED, arg=[QUIET_MS, AFTER_RUN_MS])
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


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


def wait_for_draft(store, actor, kind: str, item: int, timeout: float = 30.0) -> dict:
    """The person's typed edit as it reached the server (the run after the action saves it)."""
    from pipelines.store.drafts import load_draft

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        saved = load_draft(store, actor, kind, item)
        if saved:
            return saved
        time.sleep(0.2)
    raise AssertionError(f"the typed edit ({kind} {item}) was never saved as a draft")

"""Fixtures for the real-browser tests: the app served on localhost, and a chromium page."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, SHOTS, watched
from tests.servers import free_port, running


@pytest.fixture
def server(unlearn_home):
    port = free_port()
    unlearn = shutil.which("unlearn", path=str(Path(sys.executable).parent))
    url = f"http://127.0.0.1:{port}"
    command = [unlearn, "app", "--port", str(port)]
    with running(command, f"{url}/_stcore/health", env=os.environ.copy(), ok=lambda b: b == b"ok"):
        yield url


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield watched(browser.new_page(viewport={"width": 1280, "height": 1000}))
        browser.close()

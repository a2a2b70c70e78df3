"""Headless-browser helpers shared by the web-page tests: a live uvicorn server for an app, and
Debian's Chromium driven by Playwright's Python package (its own browser download is not used).

    from browser import LiveServer, open_browser, browser_missing
    with LiveServer(app) as base_url, open_browser() as browser:
        page = browser.page()
        page.goto(base_url + "/")
        assert browser.errors == []

`browser.errors` collects what a person would see as breakage: uncaught JavaScript exceptions,
console errors (which include resources that failed to load) and HTTP answers of 400 or more.
Needs `apt-get install chromium` and `pip install playwright`; `browser_missing()` says which is
absent so that a test can skip saying why.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if chromium_path() is None:
        return "Chromium not installed (Debian package 'chromium')"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package not installed (pip install playwright)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`app` served by uvicorn on a free loopback port in a thread; the context gives its base URL."""

    def __init__(self, app: Any, start_timeout_s: float = 30.0):
        import uvicorn

        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Browser:
    """A headless Chromium; `page()` opens a tab whose breakage is collected in `errors`."""

    context: Any
    errors: list[str] = field(default_factory=list)

    def page(self, width_px: int = 1280, height_px: int = 900) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(15_000)
        page.set_viewport_size({"width": width_px, "height": height_px})
        page.on("pageerror", lambda exc: self.errors.append(f"javascript exception: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console {msg.type}: {msg.text} ({msg.location.get('url')})")
                if msg.type == "error"
                else None
            ),
        )
        page.on(
            "response",
            lambda resp: (
                self.errors.append(f"HTTP {resp.status} for {resp.url}") if resp.status >= 400 else None
            ),
        )
        return page

    def take_errors(self) -> list[str]:
        """The errors seen so far, forgetting them (for a test that expects some)."""
        seen, self.errors = self.errors, []
        return seen


@contextmanager
def open_browser() -> Iterator[Browser]:
    """A headless Debian Chromium under Playwright, closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context()
            yield Browser(context)
        finally:
            chromium.close()


def images_not_loaded(page: Any) -> list[str]:
    """The `src` of every <img> on the page that did not load (broken or empty)."""
    return page.eval_on_selector_all(
        "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)"
    )


# The fixtures both web test folders use; their conftests load this module by path and re-export them.
@pytest.fixture(scope="session")
def web_helpers():
    """This module (LiveServer, images_not_loaded, ...)."""
    import sys

    return sys.modules[__name__]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (each start costs seconds)."""
    if reason := browser_missing():
        pytest.skip(reason)
    with open_browser() as b:
        yield b

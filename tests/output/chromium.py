"""A real headless Chromium, driven by Playwright, for the report page tests.

Chromium is Debian's `chromium` package (CI's .ci/run installs it); Playwright
launches that binary (`executable_path`) and never downloads a browser of its
own (`playwright install` is not run). Without chromium on PATH a test skips
with one line, except under CI (the CI environment variable set), where it fails.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Error, sync_playwright

NAMES = ("chromium", "chromium-browser")
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def find_chromium() -> str:
    """The chromium binary, or skip (fail under CI) with one line saying how to get it."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    message = "chromium not found on PATH (Debian: apt-get install chromium); report.html is not rendered"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it (.ci/run does)", pytrace=False)
    pytest.skip(message)


class Chromium:
    """One headless browser with one tab; it collects what the page logged as errors and what it fetched."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=binary, headless=True)
        except Error:
            self._playwright.stop()
            raise
        self.page = self._browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        self._errors: list[str] = []
        self._requests: list[str] = []
        self.page.on("pageerror", lambda error: self._errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("request", lambda request: self._requests.append(request.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self._errors.append(message.text)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        return self.page.evaluate(expression)

    def pick_household(self, name: str) -> None:
        """Choose `name` in report.html's household picker, as a reader would, and let its charts redraw."""
        self.evaluate(
            f"(async () => {{ const s = document.getElementById('household-select'); s.value = {name!r};"
            " s.dispatchEvent(new Event('change')); await new Promise(r => setTimeout(r, 50)); })()"
        )

    def open(self, path: Path, timeout: float = 20) -> float:
        """Load a page and wait until it says every chart is drawn (or that it failed); returns the seconds that
        took."""
        self._errors.clear()
        self._requests.clear()
        started = time.monotonic()
        self.page.goto(path.resolve().as_uri())
        try:
            self.page.wait_for_function(
                "document.documentElement.dataset.ready === 'yes' || Number(document.documentElement.dataset.errors"
                " || 0) > 0",
                timeout=timeout * 1000,
            )
        except Error:
            raise TimeoutError(f"{path} was not drawn within {timeout} s; errors: {self.errors()}") from None
        return time.monotonic() - started

    def errors(self) -> list[str]:
        """Script errors and console errors the page produced since it was opened."""
        return [str(e) for e in self.evaluate("window.pageErrors || []")] + self._errors

    def requests(self) -> list[str]:
        """Every URL the page requested since it was opened."""
        return list(self._requests)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()

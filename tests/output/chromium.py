"""A real headless Chromium, driven over the DevTools protocol, for the report page tests.

Chromium is Debian's `chromium` package (CI's .ci/run installs it). Without it on PATH a test
skips with one line, except under CI (the CI environment variable set), where it fails.
The protocol goes over a websocket with the `websockets` package (installed with web3).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

NAMES = ("chromium", "chromium-browser")
START_TIMEOUT_S = 20
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
    """One headless browser with one tab; `events` collects what the page logged and fetched."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="p2p-chromium-"))
        command = [
            binary,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.socket = connect(self._page_socket(), max_size=None, open_timeout=10)
        for method in ("Runtime.enable", "Log.enable", "Network.enable", "Page.enable"):
            self.send(method)
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _page_socket(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with connect(f"ws://127.0.0.1:{port}{port_file.read_text().split()[1]}", open_timeout=10) as browser:
            browser.send(json.dumps({"id": 1, "method": "Target.getTargets"}))
            while True:
                reply = json.loads(browser.recv(timeout=10))
                if reply.get("id") == 1:
                    break
        page = next(t for t in reply["result"]["targetInfos"] if t["type"] == "page")
        return f"ws://127.0.0.1:{port}/devtools/page/{page['targetId']}"

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, path: Path, timeout: float = 20) -> float:
        """Load a page and wait until it says every chart is drawn; returns the seconds that took."""
        self.events.clear()
        started = time.monotonic()
        self.send("Page.navigate", url=path.resolve().as_uri())
        while time.monotonic() - started < timeout:
            state = self.evaluate(
                "document.readyState === 'complete' && document.documentElement.dataset.ready === 'yes'"
            )
            if state or self.evaluate("Number(document.documentElement.dataset.errors || 0)"):
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"{path} was not drawn within {timeout} s; errors: {self.errors()}")

    def errors(self) -> list[str]:
        """Script errors and console errors the page produced since it was opened."""
        found = [str(e) for e in self.evaluate("window.pageErrors || []")]
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            }
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", **params)["data"]))
        return path

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

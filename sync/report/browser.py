"""Open a page in a local headless Chromium and watch it, over the DevTools pipe (no extra package).

Chromium started with ``--remote-debugging-pipe`` reads DevTools protocol commands from fd 3
and writes replies and events to fd 4, each a JSON text ended by a NUL byte. :class:`Browser`
opens one tab and :meth:`Browser.load` navigates it, recording every request the page makes
(``Network.requestWillBeSent``) and the time until its load event; then the DOM, a
screenshot or a script's result can be read. The test suite uses it to check the report opens
offline; bench/report.py to time how fast it opens. Host names resolve nowhere, so a request
the page should not make fails instead of leaving the machine (it is still recorded).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Browser", "BrowserError", "PageLoad", "find_chromium"]

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
    "--disable-default-apps", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
)


class BrowserError(RuntimeError):
    """Chromium is missing, exited, or answered a command with an error."""


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian's ``chromium`` package), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@dataclass
class PageLoad:
    """One navigation: what the page requested and how long until its load event."""

    url: str
    seconds: float = 0.0
    requests: list[str] = field(default_factory=list)


class Browser:
    """A headless Chromium with one tab; use as a context manager."""

    def __init__(self, binary: str | None = None, *, width: int = 1440, height: int = 2200) -> None:
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise BrowserError("Chromium not found: install Debian's chromium package (apt-get install -y chromium)")
        self.size = (width, height)
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="territory-chromium-")
        to_child, self._writer = _high_pipe()
        self._reader, from_child = _high_pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 and 4
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        args = [self.binary or "", *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
                f"--window-size={self.size[0]},{self.size[1]}", "about:blank"]
        self._process = subprocess.Popen(args, preexec_fn=wire, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride", session=True, width=self.size[0], height=self.size[1],
                  deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._writer)
        os.close(self._reader)
        self._profile.cleanup()

    def send(self, method: str, *, session: bool = False, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self._events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self._process.poll()})")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(text))

    def _wait_for(self, method: str, deadline: float) -> None:
        while not any(e.get("method") == method for e in self._events):
            self._events.append(self._read(deadline))

    def load(self, url: str, *, timeout: float = 60.0, settle: float = 0.5) -> PageLoad:
        """Navigate to ``url``; return once it fired its load event and ``settle`` seconds passed."""
        self._events.clear()
        started = time.monotonic()
        self.send("Page.navigate", session=True, url=url)
        self._wait_for("Page.loadEventFired", started + timeout)
        loaded = PageLoad(url, seconds=time.monotonic() - started)
        time.sleep(settle)  # late requests (timers, lazy images) still get recorded
        self.evaluate("1")
        loaded.requests = [e["params"]["request"]["url"] for e in self._events
                           if e.get("method") == "Network.requestWillBeSent"]
        return loaded

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def dom(self) -> str:
        """The rendered document's HTML."""
        return str(self.evaluate("document.documentElement.outerHTML"))

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        """A PNG of the viewport (or the whole page)."""
        shot = self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=full_page)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


    def pdf(self, path: Path) -> Path:
        """The page printed as the browser prints it, page size from the page's CSS (``@page``)."""
        printed = self.send("Page.printToPDF", session=True, preferCSSPageSize=True, printBackground=True)
        path.write_bytes(base64.b64decode(printed["data"]))
        return path


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends sit above fd 10, so wiring them to fds 3 and 4 cannot clobber either."""
    read, write = os.pipe()
    high = fcntl.fcntl(read, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(write, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(read)
    os.close(write)
    return high

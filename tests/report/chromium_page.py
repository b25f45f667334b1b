"""Load an HTML file in headless Chromium and report console errors and undecoded images.

Talks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON messages), so it needs nothing beyond the standard library and the
``chromium`` executable.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe",
)

#: Evaluated in the page after load: every <img>, whether it decoded, and its natural size.
_IMAGES_JS = """Promise.all(Array.from(document.images).map(img =>
  img.decode().then(() => true, () => false).then(ok => ({
    alt: img.alt, decoded: ok && img.complete && img.naturalWidth > 0,
    width: img.naturalWidth, height: img.naturalHeight}))))"""


@dataclass
class PageCheck:
    """What Chromium saw: console/log errors, uncaught exceptions and each image's state."""

    errors: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    pdf: bytes | None = None  # the page printed to A4 by Chromium, when asked


class _Pipe:
    def __init__(self, chromium: str, profile_dir: str) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: its fd 3 reads commands, fd 4 writes replies
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self.receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def wait_for(self, method: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self.receive(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout_s=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def check_page(html_path: Path, chromium: str | None = None, timeout_s: float = 60.0,
               print_pdf: bool = False) -> PageCheck:
    """Open ``html_path`` in headless Chromium; collect errors and each image's decoding, and
    with ``print_pdf`` the page as Chromium prints it (A4, the page's own @page rules)."""
    executable = chromium or shutil.which("chromium")
    if executable is None:
        raise FileNotFoundError("chromium not found on PATH")
    with tempfile.TemporaryDirectory(prefix="evalharness-chromium-") as profile_dir:
        pipe = _Pipe(executable, profile_dir)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Page.navigate", {"url": Path(html_path).resolve().as_uri()}, session=session)
            pipe.wait_for("Page.loadEventFired", timeout_s)
            result = pipe.send("Runtime.evaluate", {"expression": _IMAGES_JS, "awaitPromise": True,
                                                    "returnByValue": True}, session=session)
            check = PageCheck(images=result["result"]["value"])
            if print_pdf:
                printed = pipe.send("Page.printToPDF", {"preferCSSPageSize": True}, session=session,
                                    timeout_s=timeout_s)
                check.pdf = base64.b64decode(printed["data"])
            for event in pipe.events:
                check.errors.extend(_error_text(event))
            return check
        finally:
            pipe.close()


def _error_text(event: dict[str, Any]) -> list[str]:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return [" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])]
    if method == "Runtime.exceptionThrown":
        return [params["exceptionDetails"].get("text", "exception")]
    if method == "Log.entryAdded" and params["entry"].get("level") == "error":
        return [f"{params['entry'].get('source')}: {params['entry'].get('text')}"]
    return []

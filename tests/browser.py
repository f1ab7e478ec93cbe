"""A headless Debian chromium, driven over the DevTools protocol on a pipe.

Chromium reads commands from file descriptor 3 and writes answers and events to 4
(``--remote-debugging-pipe``), each a JSON message ended by a NUL byte. Enough of the
protocol to open a page, collect what its console reports and evaluate JavaScript in it:
the standard library only, no selenium, no websocket.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--window-size=1200,900",
         "--remote-debugging-pipe"]
TIMEOUT_S = 60.0  # a busy two-core machine starts chromium slowly


class BrowserError(RuntimeError):
    pass


def _high(fd: int) -> int:
    """``fd`` moved to a number of 10 or more (close-on-exec, as os.pipe made it)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """One chromium with a fresh profile; ``open`` a page, then ``evaluate`` in it."""

    def __init__(self) -> None:
        if CHROMIUM is None:
            raise BrowserError("no chromium on PATH")
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        # Above 4, so that the child's dup2 onto 3 and 4 never meets one of them (a dup2
        # onto itself would keep it close-on-exec).
        commands_read, self._commands = (_high(fd) for fd in os.pipe())
        self._answers, answers_write = (_high(fd) for fd in os.pipe())

        def plumb() -> None:  # in the child, before exec: chromium's fds 3 and 4
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        self.process = subprocess.Popen(  # noqa: S603 - our own fixed command line
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=plumb)  # the pipes' own fds are close-on-exec
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def open(self, path: Path) -> None:
        """Load ``path`` in a new tab and wait for its load event."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (JSON-able), or BrowserError if it threw."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        """Uncaught exceptions, console.error calls and the browser's own errors (such as a
        Content-Security-Policy violation or a resource that failed to load)."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", "")[:500])
        return found

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        answer = self._wait_for(None, self._next_id)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def _wait_for(self, event: str | None, answer_id: int | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            message = self._next_message(deadline)
            if answer_id is not None and message.get("id") == answer_id:
                return message
            if "method" in message:
                self.events.append(message)
                if message["method"] == event:
                    return message

    def _next_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._answers], [], [], left)[0]:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe (exit status {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            os.write(self._commands, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._commands)
            os.close(self._answers)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

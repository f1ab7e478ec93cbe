"""Length-prefixed frames over a pair of file descriptors (a socket or two pipes).

Both sides use it: the trusted side reads with a deadline, the worker blocks. Frames are
opaque bytes; what they mean is ``wire``'s business.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import struct
import threading
import time

_HEADER = struct.Struct(">Q")


class ChannelClosed(Exception):
    """The other end went away (EOF) before a whole frame arrived."""


class FrameTooLarge(Exception):
    """The other end announced a frame larger than the reader accepts."""


class Channel:
    """Frames over ``rfd`` / ``wfd`` (the same fd for a socket)."""

    def __init__(self, rfd: int, wfd: int | None = None) -> None:
        self.rfd = rfd
        self.wfd = rfd if wfd is None else wfd
        # select() does not work on Windows pipes: read them from a thread instead.
        self._thread_reader: _ThreadReader | None = None
        if os.name == "nt":
            self._thread_reader = _ThreadReader(self)

    def send(self, payload: bytes) -> None:
        data = memoryview(_HEADER.pack(len(payload)) + payload)
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def recv(self, max_size: int, timeout: float | None = None) -> bytes:
        """One frame; raises TimeoutError, ChannelClosed or FrameTooLarge."""
        if self._thread_reader is not None:
            return self._thread_reader.get(max_size, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._read_frame(max_size, deadline)

    def _read_frame(self, max_size: int, deadline: float | None = None) -> bytes:
        """One frame, whole before ``deadline``: half a frame then silence is a time-out too."""
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        if size > max_size:
            raise FrameTooLarge(f"{size} bytes announced, at most {max_size} accepted")
        return self._read_exact(size, deadline)

    def _read_exact(self, n: int, deadline: float | None = None) -> bytes:
        chunks, left = [], n
        while left:
            if deadline is not None:
                ready, _, _ = select.select([self.rfd], [], [], max(deadline - time.monotonic(), 0))
                if not ready:
                    raise TimeoutError
            chunk = os.read(self.rfd, min(left, 1 << 20))
            if not chunk:
                raise ChannelClosed
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        for fd in {self.rfd, self.wfd}:
            with contextlib.suppress(OSError):
                os.close(fd)


class _ThreadReader:
    """Reads frames on a daemon thread so that ``recv`` can wait with a timeout."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._frames: queue.Queue[bytes | BaseException] = queue.Queue()
        self._max_size = 1 << 62
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self._frames.put(self._channel._read_frame(self._max_size))
            except BaseException as exc:  # noqa: BLE001 - handed to the reader
                self._frames.put(exc)
                return

    def get(self, max_size: int, timeout: float | None) -> bytes:
        try:
            item = self._frames.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if isinstance(item, BaseException):
            raise item
        if len(item) > max_size:
            raise FrameTooLarge(f"{len(item)} bytes, at most {max_size} accepted")
        return item

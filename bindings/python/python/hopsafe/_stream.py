"""Helpers of streamed response bodies: text decoding and line splitting across chunks, and
waiting for a native read without blocking the event loop."""

from __future__ import annotations

import asyncio
import codecs
from typing import Any

from ._wake import Wait


def text_decoder(encoding: str) -> codecs.IncrementalDecoder:
    try:
        return codecs.getincrementaldecoder(encoding)(errors="replace")
    except LookupError:
        return codecs.getincrementaldecoder("utf-8")(errors="replace")


class LineSplitter:
    """Splits text fed in pieces into lines; a ``\r`` at the end of a piece waits for the
    next one, which may start with the ``\n`` of the same ``\r\n``."""

    def __init__(self) -> None:
        self._rest = ""

    def feed(self, text: str) -> list[str]:
        text = self._rest + text
        lines: list[str] = []
        start = 0
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c == "\n" or c == "\r":
                if c == "\r" and i + 1 == n:
                    break  # maybe half of a \r\n
                lines.append(text[start:i])
                i += 2 if c == "\r" and text[i + 1] == "\n" else 1
                start = i
            else:
                i += 1
        self._rest = text[start:]
        return lines

    def flush(self) -> list[str]:
        rest, self._rest = self._rest, ""
        if rest.endswith("\r"):
            rest = rest[:-1]
            return [rest]
        return [rest] if rest else []


async def wait(body: Any, start: Any) -> tuple[bytes | None, str | None]:
    """Runs one native read without blocking the event loop; a cancelled wait closes the
    body (the transfer is aborted)."""
    wait = Wait()
    handle = start(wait.wake)
    try:
        await wait.done
    except asyncio.CancelledError:
        wait.cancel()
        body.close()
        raise
    result = handle.result()
    if result is None:
        return None, '{"name": "HopsafeError", "message": "the read ended without a result"}'
    return result

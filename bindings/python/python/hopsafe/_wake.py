"""Waking an event loop when a native call ends (see src/wake.rs)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from . import _native


class _LoopWaker:
    """One loop's socket the core writes to when calls end: the loop reads it (``add_reader``)
    and finishes the futures of the calls whose tokens the native waker hands back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._native = _native.NativeLoopWaker()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._next = 0
        loop.add_reader(self._native.fileno(), self._drain)

    def arm(self, done: asyncio.Future[None]) -> tuple[Any, int]:
        self._next += 1
        self._waiting[self._next] = done
        return self._native, self._next

    def disarm(self, token: int) -> None:
        self._waiting.pop(token, None)

    def _drain(self) -> None:
        for token in self._native.drain():
            done = self._waiting.pop(token, None)
            if done is not None and not done.done():
                done.set_result(None)


# A loop's waker, or None where the loop cannot watch a socket (Windows' Proactor) or the
# native side has no waker: those loops are woken with call_soon_threadsafe.
_wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWaker | None] = (
    weakref.WeakKeyDictionary()
)


def _waker(loop: asyncio.AbstractEventLoop) -> _LoopWaker | None:
    try:
        return _wakers[loop]
    except KeyError:
        pass
    except TypeError:  # a loop that cannot be weakly referenced
        return None
    try:
        waker: _LoopWaker | None = _LoopWaker(loop)
    except (NotImplementedError, OSError):
        waker = None
    _wakers[loop] = waker
    return waker


class Wait:
    """A future the native side finishes when one call ends: pass ``wake`` to the native
    ``start`` call, ``await wait.done``, and ``cancel()`` if the wait is given up."""

    __slots__ = ("done", "wake", "_waker", "_token")

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = loop.create_future()
        self._waker = _waker(loop)
        if self._waker is not None:
            self.wake: Any = self._waker.arm(self.done)
            self._token = self.wake[1]
            return
        done = self.done

        def ready() -> None:
            if not done.done():
                done.set_result(None)

        # Called once by the native side from one of its threads: call_soon_threadsafe works
        # on every event loop.
        self.wake = lambda: loop.call_soon_threadsafe(ready)

    def cancel(self) -> None:
        if self._waker is not None:
            self._waker.disarm(self._token)

"""Naming and calling user functions whatever their shape (partial, lambda, bound method, sync/async)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


def callable_name(fn: Any) -> str:
    """A short readable name for traces and errors: ``ChatNode.generate``, ``partial(clean)``."""
    if isinstance(fn, functools.partial):
        return f"partial({callable_name(fn.func)})"
    if inspect.ismethod(fn):  # the instance's class, not the base class that defined it
        owner = fn.__self__ if inspect.isclass(fn.__self__) else type(fn.__self__)
        return f"{owner.__name__}.{fn.__func__.__name__}"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return type(fn).__name__
    return name.rpartition("<locals>.")[2]  # `outer.<locals>.inner` reads better as `inner`


def require_callable(fn: Any, where: str) -> Callable[..., Any]:
    if not callable(fn):
        raise TypeError(f"{where}: expected a callable, got {type(fn).__name__} {fn!r:.80}")
    return fn  # type: ignore[no-any-return]


def accepts_argument(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` can be called with one positional argument (handlers may take none)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(None)
    except TypeError:
        return False
    return True


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` and await the result if it is awaitable (sync and async handlers both work)."""
    result = fn(*args)
    if inspect.isawaitable(result):
        result = await result
    return result

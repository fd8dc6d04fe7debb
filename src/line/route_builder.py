"""The chainable front of a route: ``bridge.on(E).stream(f).interrupt_on(X).broadcast()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from line.callables import accepts_argument, callable_name, require_callable
from line.patterns import EventPattern
from line.route_shape import InterruptSpec, Policy, Stage, StageKind

if TYPE_CHECKING:
    from line.bus import Message
    from line.routes import Route

__all__ = ["RouteBuilder"]


class RouteBuilder:
    """Chainable definition of a route, as in ``bridge.on(E).stream(f).broadcast()``."""

    def __init__(self, route: Route) -> None:
        self.route = route

    def _add(self, kind: StageKind, fn: Any) -> RouteBuilder:
        require_callable(fn, f"{self.route.name}: {kind}()")
        if self.route.broadcasts:
            raise ValueError(f"{self.route.name}: cannot add a {kind} stage after broadcast()")
        self.route.stages.append(Stage(kind, fn, callable_name(fn)))
        return self

    def map(self, fn: Callable[[Message], Any]) -> RouteBuilder:
        """One item in, one out (``None`` drops it). ``fn`` may be sync or async."""
        return self._add(StageKind.MAP, fn)

    def filter(self, fn: Callable[[Message], Any]) -> RouteBuilder:
        """Keep the item when ``fn(message)`` is truthy. ``fn`` may be sync or async."""
        return self._add(StageKind.FILTER, fn)

    def stream(self, fn: Callable[[Message], Any]) -> RouteBuilder:
        """One item in, any number out: generators, async generators, iterables, awaitables."""
        return self._add(StageKind.STREAM, fn)

    def broadcast(self, event_type: type[BaseModel] | None = None) -> RouteBuilder:
        """Publish every item that reaches the end of the chain (optionally coerced to ``event_type``)."""
        if event_type is not None and not (isinstance(event_type, type) and issubclass(event_type, BaseModel)):
            raise TypeError(f"{self.route.name}: broadcast(event_type=...) needs an event class, "
                            f"got {event_type!r}")
        self.route.broadcasts = True
        self.route.broadcast_type = event_type
        return self

    def interrupt_on(
        self,
        event: Any,
        handler: Callable[..., Any] | None = None,
        filter_fn: Callable[[Message], Any] | None = None,
    ) -> RouteBuilder:
        """Cancel the running run when ``event`` is accepted by the bus; then call ``handler``."""
        pattern = EventPattern(event, where=f"{self.route.name}: interrupt_on()")
        if handler is not None:
            require_callable(handler, f"{self.route.name}: interrupt_on(handler=...)")
        if filter_fn is not None:
            require_callable(filter_fn, f"{self.route.name}: interrupt_on(filter_fn=...)")
        takes_message = accepts_argument(handler) if handler is not None else False
        self.route.interrupts.append(InterruptSpec(pattern, handler, filter_fn, takes_message))
        self.route.changed()
        return self

    def suspend_on(self, event: Any) -> RouteBuilder:
        """While suspended, triggers are dropped (and traced as ``bus.drop`` "suspended")."""
        self.route.suspend_patterns.append(EventPattern(event, where=f"{self.route.name}: suspend_on()"))
        self.route.changed()
        return self

    def resume_on(self, event: Any) -> RouteBuilder:
        self.route.resume_patterns.append(EventPattern(event, where=f"{self.route.name}: resume_on()"))
        self.route.changed()
        return self

    def with_policy(self, policy: Policy | str) -> RouteBuilder:
        """Choose how runs of this route relate (see :class:`Policy`)."""
        self.route.policy = Policy(policy)
        return self

    def latest_wins(self) -> RouteBuilder:
        return self.with_policy(Policy.LATEST)

    def on(self, event: Any, **kwargs: Any) -> RouteBuilder:
        """Start another route on the same bridge (Line 0.1.x chaining)."""
        return self.route.bridge.on(event, **kwargs)

    def __repr__(self) -> str:
        return f"RouteBuilder({self.route.name}: {self.route.describe()})"

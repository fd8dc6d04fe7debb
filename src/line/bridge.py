"""A bridge connects one node to the bus: its routes say what the node reacts to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from line.patterns import EventPattern
from line.routes import Route, RouteBuilder

if TYPE_CHECKING:
    from line.bus import Bus, Message

__all__ = ["Bridge"]


def node_id_of(node_or_id: Any) -> str:
    """``"name"`` as is; a node's ``id``/``node_id``; otherwise its class name."""
    if isinstance(node_or_id, str):
        if not node_or_id:
            raise ValueError("Bridge(...): the node id must not be empty")
        return node_or_id
    for attribute in ("id", "node_id"):
        value = getattr(node_or_id, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(node_or_id).__name__


class Bridge:
    """``Bridge(node)``: routes whose messages carry ``source=node_id``.

    ``authorize(*node_ids)`` restricts which sources may trigger this bridge's routes (by
    default any source may). Routes can be defined before or after the bridge joins a bus.
    """

    def __init__(self, node_or_id: Any) -> None:
        self.node = None if isinstance(node_or_id, str) else node_or_id
        self.node_id = node_id_of(node_or_id)
        self.authorized_nodes: set[str] = set()
        self.routes: list[Route] = []
        self.bus: Bus | None = None
        if self.node is not None:
            try:
                self.node._bridge = self
            except AttributeError:  # slotted or frozen user objects: the link is optional
                pass

    def authorize(self, *node_ids: str) -> Bridge:
        """Accept messages only from these sources (call again to add more)."""
        for node_id in node_ids:
            if not isinstance(node_id, str):
                raise TypeError(f"Bridge({self.node_id!r}).authorize: node ids are strings, got {node_id!r}")
        self.authorized_nodes.update(node_ids)
        return self

    def on(
        self,
        event: Any,
        filter_fn: Callable[[Message], Any] | None = None,
        **event_property_filters: Any,
    ) -> RouteBuilder:
        """Start a route triggered by ``event``: a class, a glob on the type name, or ``"*"``.

        ``event_property_filters`` match event attributes by equality, or by a predicate when
        the value is callable: ``on(ToolResult, tool_name="clock")``.
        """
        pattern = EventPattern(event, where=f"Bridge({self.node_id!r}).on()")
        route = Route(self, pattern, filter_fn, event_property_filters)
        self.routes.append(route)
        if self.bus is not None:
            self.bus.add_route(route)
        return RouteBuilder(route)

    def set_bus(self, bus: Bus) -> None:
        if self.bus is bus:
            return
        if self.bus is not None:
            raise ValueError(f"Bridge({self.node_id!r}) is already connected to another bus")
        self.bus = bus
        for route in self.routes:
            bus.add_route(route)

    async def start(self) -> None:
        """Start this bridge's routes (the bus starts them all; this is for a bridge alone)."""
        if self.bus is None:
            raise RuntimeError(f"Bridge({self.node_id!r}).start(): register it on a bus first")
        for route in self.routes:
            route.start()

    async def stop(self) -> None:
        """Cancel this bridge's runs and workers and wait for them."""
        for route in self.routes:
            route.request_stop()
        for route in self.routes:
            await route.wait_stopped()

    async def send(self, event: Any, caused_by: int | None = None) -> Message:
        """Publish ``event`` on the bus with this bridge's node as the source."""
        if self.bus is None:
            raise RuntimeError(f"Bridge({self.node_id!r}).send(): register it on a bus first")
        return await self.bus.publish(event, source=self.node_id, caused_by=caused_by)

    def __repr__(self) -> str:
        return f"Bridge({self.node_id!r}, routes={len(self.routes)})"

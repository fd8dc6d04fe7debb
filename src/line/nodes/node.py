"""The base of every node: an id, and the bridge that connects it to the bus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from line.bridge import Bridge
    from line.bus import Message


class Node:
    """Something with an ``id`` that a :class:`~line.bridge.Bridge` connects to the bus."""

    def __init__(self, node_id: str | None = None) -> None:
        # The class name reads well in traces; VoiceAgentSystem numbers duplicates (`ChatNode-2`).
        self.id = node_id or type(self).__name__
        self._bridge: Bridge | None = None

    @property
    def bridge(self) -> Bridge | None:
        return self._bridge

    async def send(self, event: Any, caused_by: int | None = None) -> Message:
        """Publish ``event`` from this node (its bridge must be on a bus)."""
        if self._bridge is None:
            raise RuntimeError(f"{self.id}: send() needs a Bridge(node) registered on a bus")
        return await self._bridge.send(event, caused_by=caused_by)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"

"""Nodes: the parts of an agent that react to events (``ReasoningNode`` talks to an LLM)."""

from line.nodes.context import ConversationContext
from line.nodes.node import Node
from line.nodes.reasoning import ReasoningNode

__all__ = ["ConversationContext", "Node", "ReasoningNode"]

"""line: asyncio routing of streaming LLM responses for voice agents.

The public names most agents need are importable from here; see ``line.events`` for the
event types and ``line.trace`` for the observer API.
"""

from line.app import VoiceAgentApp
from line.bridge import Bridge
from line.bus import Bus, Message
from line.call_request import AgentConfig, CallRequest
from line.nodes import ConversationContext, Node, ReasoningNode
from line.routes import Policy, RouteBuilder, RunStatus
from line.system import VoiceAgentSystem
from line.trace import TraceKind, Tracer, TraceRecord, report_buffer

__all__ = [
    "AgentConfig",
    "Bridge",
    "Bus",
    "CallRequest",
    "ConversationContext",
    "Message",
    "Node",
    "Policy",
    "ReasoningNode",
    "RouteBuilder",
    "RunStatus",
    "TraceKind",
    "TraceRecord",
    "Tracer",
    "VoiceAgentApp",
    "VoiceAgentSystem",
    "report_buffer",
]

__version__ = "0.2.0"

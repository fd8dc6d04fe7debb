"""System tools (Line 0.1.x compatible): ending the call with a goodbye."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field

from line.events import AgentResponse, EndCall

__all__ = ["EndCallArgs", "EndCallTool", "end_call"]


class EndCallArgs(BaseModel):
    goodbye_message: str = Field(description="The final message to say before ending the call")


class EndCallTool:
    """The ``end_call`` tool's definition for LLM tool calling."""

    @classmethod
    def name(cls) -> str:
        return "end_call"

    @classmethod
    def description(cls) -> str:
        return ("End the conversation with a goodbye message. Call this when the user says goodbye "
                "or otherwise shows they are ready to end the call.")

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "goodbye_message": {
                    "type": "string",
                    "description": EndCallArgs.model_fields["goodbye_message"].description,
                }
            },
            "required": ["goodbye_message"],
            "additionalProperties": False,
        }

    @classmethod
    def to_openai_tool(cls) -> dict[str, Any]:
        """Responses-API shape (as Line 0.1.x returns)."""
        return {"type": "function", "name": cls.name(), "description": cls.description(),
                "parameters": cls.parameters(), "strict": True}

    @classmethod
    def to_chat_completions_tool(cls) -> dict[str, Any]:
        """Chat-completions shape, for ``llm_client.generate_stream(messages, tools=[...])``."""
        return {"type": "function",
                "function": {"name": cls.name(), "description": cls.description(),
                             "parameters": cls.parameters()}}


async def end_call(args: EndCallArgs) -> AsyncIterator[AgentResponse | EndCall]:
    """Say goodbye, then end the call."""
    yield AgentResponse(content=args.goodbye_message)
    yield EndCall()

"""What a call starts with (Line 0.1.x compatible): who calls whom, and the agent's config."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentConfig", "CallRequest"]


class AgentConfig(BaseModel):
    system_prompt: str = ""
    introduction: str = ""


class CallRequest(BaseModel):
    """``from`` is a Python keyword, so the field is ``from_`` with the alias ``from``."""

    model_config = ConfigDict(populate_by_name=True)

    call_id: str = "local-call"
    from_: str = Field(default="keyboard", alias="from")
    to: str = "line-tui"
    agent_call_id: str = "local-agent-call"
    agent: AgentConfig = Field(default_factory=AgentConfig)
    metadata: dict[str, Any] = Field(default_factory=dict)

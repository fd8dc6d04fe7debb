"""line: asyncio routing for streaming LLM responses in voice agents."""

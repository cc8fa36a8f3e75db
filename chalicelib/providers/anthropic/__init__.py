"""Anthropic's Messages API behind the OpenAI chat interface: pure translation in `translate`,
endpoint and headers in `api`, the thin HTTP layer in `adapter`."""

"""OpenAI and every provider that speaks its dialect (DeepSeek, xAI, OpenRouter, Ollama, Doubao,
Poe, or any endpoint of kind `openai`): one adapter, per-provider settings in the registry."""

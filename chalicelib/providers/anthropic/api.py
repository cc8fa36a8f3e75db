"""Anthropic's Messages endpoint. (Its `anthropic-version` header is in the provider's spec in
chalicelib/providers/registry.py, so an operator can move it forward per provider record.)"""
from __future__ import annotations

PATH = "/v1/messages"  # below the base URL, which carries no version path
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
MODELS_PATH = "/v1/models"

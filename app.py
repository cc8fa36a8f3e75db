"""aihub's route table: every public route, its handler and who may call it.

Handlers are named "module:function" under chalicelib/handlers and imported on first use.
The Chalice app serves these on API Gateway + Lambda; `aihub serve` serves the same table
with true streaming (chalicelib/fronts/asgi_front.py).
"""
from chalice import Chalice

from chalicelib.fronts.chalice_front import Routes

app = Chalice(app_name="aihub")
route = Routes(app)

route("GET", "/health", "system:health", auth="none")

# OpenAI-compatible API (any valid key)
route("GET", "/v1/models", "openai_api:list_models")
route("POST", "/v1/chat/completions", "openai_api:chat_completions")
route("POST", "/v1/embeddings", "openai_api:embeddings")
route("POST", "/v1/images/generations", "openai_api:image_generations")
route("GET", "/v1/credits", "openai_api:credits")

# Admin API (admin keys only)
route("POST", "/admin/keys", "admin:create_key", auth="admin")
route("GET", "/admin/keys", "admin:list_keys", auth="admin")
route("DELETE", "/admin/keys/{id}", "admin:revoke_key", auth="admin")
route("GET", "/admin/calls", "admin:list_calls", auth="admin")

"""aihub's route table: every public route, its handler and who may call it.

Handlers are named "module:function" under chalicelib/handlers and imported on first use.
A path parameter `{name}` matches within one segment, `{name+}` any text, "/" included
(chalicelib/gateway/routing.py).
The Chalice app serves these on API Gateway + Lambda; `aihub serve` serves the same table
with true streaming (chalicelib/fronts/asgi_front.py).
"""
from chalice import Chalice

from chalicelib.fronts.chalice_front import Routes

# Chalice would take the `aihub` logger over (level ERROR, no propagation): the JSON log of
# chalicelib/observability/logs.py configures it instead.
app = Chalice(app_name="aihub", configure_logs=False)
route = Routes(app)

route("GET", "/health", "system:health", auth="none")
# Prometheus text under `aihub serve`: admin key unless AIHUB_METRICS_PUBLIC=on (the handler decides)
route("GET", "/metrics", "metrics:metrics", auth="none")
# This API's OpenAPI 3.1 description (chalicelib/openapi), built on first use
route("GET", "/openapi.json", "openapi_spec:document", auth="none")

# The admin web UI (static; it signs in with an aihub key and calls the APIs below)
route("GET", "/", "ui:index", auth="none")
route("GET", "/assets/{name}", "ui:asset", auth="none")

# OpenAI-compatible API (any valid key)
route("GET", "/v1/models", "openai_api:list_models")
route("GET", "/v1/models/{id+}", "openai_api:retrieve_model")  # ids hold "/": demo/echo
route("POST", "/v1/chat/completions", "openai_api:chat_completions")
route("POST", "/v1/completions", "completions_api:create")
route("POST", "/v1/moderations", "openai_api:moderations")
route("POST", "/v1/embeddings", "openai_api:embeddings")
route("POST", "/v1/images/generations", "openai_api:image_generations")
route("GET", "/v1/credits", "openai_api:credits")
# Uploads: multipart/form-data. Chalice lets any type through ("*/*") so that another is refused by
# the handler, in the API's error shape with x-request-id, not by Chalice's bare 415.
route("POST", "/v1/audio/transcriptions", "audio_api:transcriptions", content_types=["*/*"])
route("POST", "/v1/audio/translations", "audio_api:translations", content_types=["*/*"])
route("POST", "/v1/audio/speech", "audio_api:speech")
route("GET", "/v1/status", "providers:model_status")

# OpenAI's Videos API (asynchronous jobs, see chalicelib/handlers/videos_api.py)
route("POST", "/v1/videos", "videos_api:create")
route("GET", "/v1/videos/{id}", "videos_api:retrieve")
route("GET", "/v1/videos/{id}/content", "videos_api:content")

# Files aihub hosts (generated videos), by signed expiring URL: the URL is the credential
route("GET", "/files/{token}", "files:download", auth="none")

# Anthropic Messages API (any valid key, as `Authorization: Bearer` or `x-api-key`); GET /v1/models
# above answers in Anthropic's shape to a request with an `anthropic-version` header
route("POST", "/v1/messages", "anthropic_api:messages", dialect="anthropic_messages")
route("POST", "/v1/messages/count_tokens", "anthropic_api:count_tokens", dialect="anthropic_messages")

# OpenAI's Responses API
route("POST", "/v1/responses", "responses_api:create", dialect="openai_responses")
route("GET", "/v1/responses/{id}", "responses_api:retrieve", dialect="openai_responses")
route("DELETE", "/v1/responses/{id}", "responses_api:delete", dialect="openai_responses")
route("GET", "/v1/responses/{id}/input_items", "responses_api:input_items", dialect="openai_responses")

# Google's generateContent API for the google-genai SDK (key as `x-goog-api-key`, `?key=` or
# bearer), under v1beta and v1 (the SDK's default): {id}:generateContent,
# :streamGenerateContent?alt=sse, :countTokens, :embedContent, :batchEmbedContents; `{id+}` is
# greedy, for model ids with `/` (chalicelib/gateway/routing.py)
route("POST", "/v1beta/models/{id+}", "gemini_api:call", dialect="gemini_generate")
route("POST", "/v1/models/{id+}", "gemini_api:call", dialect="gemini_generate")

# AIGNE Hub (the @aigne/aigne-hub SDK and the aigne CLI): discovery at the origin root, the rest
# under the mount point it answers (shared/aigne-hub-v2.md)
route("GET", "/__blocklet__.js", "aigne_api:blocklet", auth="none", dialect="aigne_hub")
route("POST", "/api/v2/chat", "aigne_api:chat", dialect="aigne_hub")
route("POST", "/api/v2/image", "aigne_api:image", dialect="aigne_hub")
route("POST", "/api/v2/video", "aigne_api:video", dialect="aigne_hub")
route("POST", "/api/v2/embeddings", "aigne_api:embeddings", dialect="aigne_hub")
route("POST", "/api/v2/chat/completions", "aigne_api:chat_completions", dialect="aigne_hub")
route("POST", "/api/v2/completions", "aigne_api:chat_completions", dialect="aigne_hub")
route("POST", "/api/v2/image/generations", "aigne_api:image_generations", dialect="aigne_hub")
route("GET", "/api/v2/status", "aigne_api:status", auth="none", dialect="aigne_hub")
route("GET", "/api/ai/models", "aigne_api:models", auth="none", dialect="aigne_hub")
route("GET", "/api/user/info", "aigne_api:user_info", dialect="aigne_hub")
# `aigne hub connect`: the CLI's session (made, polled, deleted: the session id is its credential),
# the page it opens (the web UI's approval page), and the approval the signed-in UI sends
route("POST", "/.well-known/service/api/access-key/session", "connect:create_session", auth="none")
route("GET", "/.well-known/service/api/access-key/session", "connect:poll_session", auth="none")
route("DELETE", "/.well-known/service/api/access-key/session", "connect:delete_session", auth="none")
route("GET", "/.well-known/service/gen-simple-access-key", "connect:approval_page", auth="none")
route("POST", "/.well-known/service/api/access-key/approve", "connect:approve")

# Admin API (admin keys only)
route("POST", "/admin/keys", "admin:create_key", auth="admin")
route("GET", "/admin/keys", "admin:list_keys", auth="admin")
route("DELETE", "/admin/keys/{id}", "admin:revoke_key", auth="admin")
route("GET", "/admin/calls", "admin:list_calls", auth="admin")
route("GET", "/admin/providers", "providers:list_providers", auth="admin")
route("POST", "/admin/providers", "providers:create_provider", auth="admin")
route("GET", "/admin/providers/{name}", "providers:get_provider", auth="admin")
route("PATCH", "/admin/providers/{name}", "providers:update_provider", auth="admin")
route("DELETE", "/admin/providers/{name}", "providers:delete_provider", auth="admin")
route("GET", "/admin/providers/{name}/credentials", "providers:list_credentials", auth="admin")
route("POST", "/admin/providers/{name}/credentials", "providers:add_credential", auth="admin")
route("PATCH", "/admin/credentials/{id}", "providers:update_credential", auth="admin")
route("DELETE", "/admin/credentials/{id}", "providers:delete_credential", auth="admin")
route("POST", "/admin/credentials/{id}/check", "providers:check_credential", auth="admin")
route("POST", "/admin/models/{provider}/{model+}/probe", "providers:probe_model", auth="admin")

# Scheduled work (on Lambda; `aihub serve` runs the same in a background task)
route.every(minutes=1, handler_ref="maintenance:run")

# Billing (admin)
route("GET", "/admin/model-rates", "billing:list_rates", auth="admin")
route("POST", "/admin/model-rates", "billing:set_rate", auth="admin")
route("PATCH", "/admin/model-rates/{id}", "billing:update_rate", auth="admin")
route("POST", "/admin/model-rates/bulk", "billing:bulk_rates", auth="admin")
route("GET", "/admin/accounts", "billing:list_accounts", auth="admin")
route("GET", "/admin/accounts/{id}", "billing:get_account", auth="admin")
route("GET", "/admin/accounts/{id}/ledger", "billing:account_ledger", auth="admin")
route("POST", "/admin/accounts/{id}/credits", "billing:add_credits", auth="admin")
route("PATCH", "/admin/keys/{id}", "billing:update_key", auth="admin")
route("GET", "/v1/credits/ledger", "billing:my_ledger")

# Usage analytics: a key's own account under /v1, any account (account_id) under /admin
route("GET", "/v1/usage/summary", "usage:summary")
route("GET", "/v1/usage/timeseries", "usage:timeseries")
route("GET", "/v1/usage/top-models", "usage:top_models")
route("GET", "/v1/usage/quota", "usage:quota")
route("GET", "/v1/usage/calls", "usage:calls")
route("GET", "/v1/usage/calls.csv", "usage:calls_csv")
route("GET", "/v1/usage/calls/{request_id}", "usage:call")
route("GET", "/admin/usage/summary", "usage:admin_summary", auth="admin")
route("GET", "/admin/usage/timeseries", "usage:admin_timeseries", auth="admin")
route("GET", "/admin/usage/top-models", "usage:admin_top_models", auth="admin")
route("GET", "/admin/usage/quota", "usage:admin_quota", auth="admin")
route("GET", "/admin/usage/calls", "usage:admin_calls", auth="admin")
route("GET", "/admin/usage/calls.csv", "usage:admin_calls_csv", auth="admin")
route("GET", "/admin/usage/calls/{request_id}", "usage:admin_call", auth="admin")

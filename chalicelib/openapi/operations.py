"""What each handler takes and answers, where the route table cannot tell: its request model
(named "module:Class" under chalicelib.api, imported only when the spec is built), its query
model, and the media types of its answer. A handler missing here takes no body and answers JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json"
FORM = "multipart/form-data"
SSE = "text/event-stream"


@dataclass(frozen=True)
class Operation:
    body: tuple[str, ...] = ()  # request models; more than one: the body is one of them
    body_types: tuple[str, ...] = (JSON,)
    query: str | None = None  # a model whose fields are the query parameters
    answers: tuple[str, ...] = (JSON,)  # media types of the 2xx answer
    note: str = ""
    status: str = "200"
    summary: str = ""  # else the handler's name, in words
    file_part: str = ""  # the form part that carries an upload
    checks: tuple[str, ...] = ()  # models the handler checks its internal form with (not the body)

    @property
    def models(self) -> tuple[str, ...]:
        return (*self.body, *([self.query] if self.query else []))


_CHAT = (JSON, SSE)  # `stream: true` answers server-sent events

OPERATIONS: dict[str, Operation] = {
    "system:health": Operation(note="200 while calls can be recorded, 503 while the database refuses writes."),
    "metrics:metrics": Operation(answers=("text/plain",),
                                 note="Prometheus text; needs an admin key unless AIHUB_METRICS_PUBLIC=on."),
    "openapi_spec:document": Operation(summary="OpenAPI description", note="This description."),
    "ui:index": Operation(summary="Web UI", answers=("text/html",), note="The admin web UI."),
    "ui:asset": Operation(summary="Web UI asset", answers=("text/javascript", "text/css", "image/svg+xml"),
                          note="A file of the web UI."),
    "openai_api:list_models": Operation(
        query="model_list:ModelsQuery", note="Answers in Anthropic's shape to a request with an anthropic-version header."),
    "openai_api:chat_completions": Operation(body=("openai:ChatCompletionRequest",), answers=_CHAT),
    "completions_api:create": Operation(body=("openai:CompletionRequest",), answers=_CHAT),
    "openai_api:moderations": Operation(body=("openai:ModerationRequest",)),
    "openai_api:embeddings": Operation(body=("openai:EmbeddingRequest",)),
    "openai_api:image_generations": Operation(body=("openai:ImageRequest",)),
    "audio_api:transcriptions": Operation(body=("audio:TranscriptionForm",), body_types=(FORM,), file_part="file",
                                          answers=(JSON, "text/plain", SSE)),
    "audio_api:translations": Operation(body=("audio:TranscriptionForm",), body_types=(FORM,), file_part="file",
                                        answers=(JSON, "text/plain")),
    "audio_api:speech": Operation(body=("audio:SpeechRequest",), answers=("audio/mpeg", "application/octet-stream")),
    "videos_api:create": Operation(body=("videos:VideoCreateRequest",), body_types=(JSON, FORM)),
    "videos_api:content": Operation(answers=("video/mp4", "image/webp")),
    "files:download": Operation(answers=("application/octet-stream",), note="The signed URL is the credential."),
    "anthropic_api:messages": Operation(body=("anthropic:MessagesRequest",), answers=_CHAT),
    "anthropic_api:count_tokens": Operation(body=("anthropic:CountTokensRequest",)),
    "responses_api:create": Operation(body=("responses:ResponseCreateRequest",), answers=_CHAT),
    "responses_api:input_items": Operation(query="responses:InputItemsQuery"),
    "gemini_api:call": Operation(
        body=("gemini:GenerateContentRequest", "gemini:CountTokensRequest", "gemini:EmbedContentRequest",
              "gemini:BatchEmbedContentsRequest"),
        answers=_CHAT, summary="Call a model method",
        note="`id` is `{model}:{method}`, method one of generateContent, streamGenerateContent (?alt=sse), "
             "countTokens, embedContent, batchEmbedContents; the body is that method's request."),
    "aigne_api:blocklet": Operation(answers=("text/javascript",), note="AIGNE Hub discovery."),
    "aigne_api:chat": Operation(body=("aigne:ChatEnvelope",), answers=_CHAT),
    "aigne_api:image": Operation(body=("aigne:ImageEnvelope",)),
    "aigne_api:video": Operation(body=("aigne:VideoEnvelope",), checks=("videos:VideoCreateRequest",),
                                 note="Waits for the video (a 504 `video_timeout` after 170 s, nothing charged)."),
    "connect:create_session": Operation(note="`aigne hub connect`: a new access-key session."),
    "connect:poll_session": Operation(note="The session, with the encrypted key once approved."),
    "connect:delete_session": Operation(note="Ends the session."),
    "connect:approval_page": Operation(answers=("text/html",), note="Redirects to the web UI's approval page."),
    "connect:approve": Operation(body=("connect:Approval",), note="Issues a key for the approver's account."),
    "aigne_api:embeddings": Operation(body=("aigne:EmbeddingEnvelope", "aigne:OpenAIEmbeddings")),
    "aigne_api:chat_completions": Operation(body=("aigne:LegacyChat",), answers=_CHAT),
    "aigne_api:image_generations": Operation(body=("aigne:LegacyImages",)),
    "admin:create_key": Operation(body=("admin:KeyCreate",), status="201",
                                  note="The key is shown once, in this answer."),
    "providers:create_provider": Operation(body=("admin:ProviderCreate",), status="201"),
    "providers:update_provider": Operation(body=("admin:ProviderUpdate",)),
    "providers:add_credential": Operation(body=("admin:CredentialCreate",), status="201"),
    "providers:update_credential": Operation(body=("admin:CredentialUpdate",)),
    "billing:set_rate": Operation(body=("admin:RateCreate",), status="201"),
    "billing:update_rate": Operation(body=("admin:RateFields",)),
    "billing:bulk_rates": Operation(body=("admin:BulkRates",)),
    "billing:add_credits": Operation(body=("admin:CreditChange",)),
    "billing:update_key": Operation(body=("admin:KeyUpdate",)),
    "usage:calls_csv": Operation(answers=("text/csv",)),
    "usage:admin_calls_csv": Operation(answers=("text/csv",)),
}

def described(handler_ref: str) -> Operation:
    return OPERATIONS.get(handler_ref, Operation())


# Tags group the reference by the handler's module: its API family.
TAGS: dict[str, str] = {
    "system": "System", "metrics": "System", "openapi_spec": "System", "ui": "System",
    "openai_api": "OpenAI", "completions_api": "OpenAI", "audio_api": "OpenAI audio", "videos_api": "OpenAI videos",
    "files": "Files", "responses_api": "OpenAI Responses", "anthropic_api": "Anthropic Messages",
    "gemini_api": "Gemini", "aigne_api": "AIGNE Hub", "connect": "AIGNE Hub", "admin": "Admin",
    "providers": "Providers",
    "billing": "Billing", "usage": "Usage",
}

TAG_NOTES: dict[str, str] = {
    "System": "Health, metrics, this description and the web UI.",
    "OpenAI": "OpenAI-compatible API: any provider's model as `provider/model`.",
    "OpenAI audio": "Transcription, translation and speech.",
    "OpenAI videos": "Asynchronous video generation jobs.",
    "Files": "Files aihub hosts, by signed expiring URL.",
    "OpenAI Responses": "OpenAI's Responses API; errors in OpenAI's shape.",
    "Anthropic Messages": "Anthropic's Messages API; errors in Anthropic's shape.",
    "Gemini": "Google's generateContent API (v1beta and v1); errors in Google's shape.",
    "AIGNE Hub": "The AIGNE Hub v2 API of the @aigne/aigne-hub SDK; errors in the hub's shape.",
    "Admin": "API keys and call records (admin keys only).",
    "Providers": "Providers, their credentials and model health.",
    "Billing": "Model rates, accounts, credits and ledgers.",
    "Usage": "Usage analytics: a key's own account under /v1, any account under /admin.",
}


@dataclass(frozen=True)
class ErrorShape:
    name: str
    schema: dict[str, object]


_OPENAI_ERROR = ErrorShape("OpenAIError", {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
        "message": {"type": "string"}, "type": {"type": "string"},
        "code": {"type": ["string", "null"]}, "param": {"type": ["string", "null"]}}}}})

# The error body of each dialect (chalicelib/surfaces/<dialect>: error_body).
ERRORS: dict[str, ErrorShape] = {
    "openai_chat": _OPENAI_ERROR,
    "openai_responses": _OPENAI_ERROR,
    "anthropic_messages": ErrorShape("AnthropicError", {
        "type": "object", "required": ["type", "error"],
        "properties": {"type": {"const": "error"}, "error": {"type": "object", "required": ["type", "message"],
                                                             "properties": {"type": {"type": "string"},
                                                                            "message": {"type": "string"}}}}}),
    "gemini_generate": ErrorShape("GoogleError", {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message", "status"], "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"}, "status": {"type": "string"}}}}}),
    "aigne_hub": ErrorShape("AigneHubError", {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["message", "type"], "properties": {
            "message": {"type": "string"}, "type": {"type": "string", "description": "NOT_ENOUGH when out of credits"},
            "code": {"type": ["string", "null"]}, "link": {"type": "string", "description": "where to top up"},
            "timestamp": {"type": "string"}}}}}),
}

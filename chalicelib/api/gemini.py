"""Wire models of Gemini's generateContent API, for validating what clients send.

Only the fields aihub reads are checked, in the API's camelCase. Unknown fields and part
kinds are allowed: on the native path the client's own body goes to Gemini, which knows more
than this file; the translated path refuses what it cannot translate, naming the field.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Blob(_Open):
    mimeType: StrictStr
    data: StrictStr


class FileData(_Open):
    fileUri: StrictStr
    mimeType: StrictStr | None = None


class FunctionCall(_Open):
    name: StrictStr = Field(min_length=1)
    args: dict[str, Any] | None = None


class FunctionResponse(_Open):
    name: StrictStr = Field(min_length=1)
    response: dict[str, Any] | None = None


class Part(_Open):
    text: StrictStr | None = None
    inlineData: Blob | None = None
    fileData: FileData | None = None
    functionCall: FunctionCall | None = None
    functionResponse: FunctionResponse | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Part:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("a part needs one of text, inlineData, fileData, functionCall, functionResponse")
        return self


class Content(_Open):
    role: Literal["user", "model", "function"] | None = None
    parts: list[Part] = Field(min_length=1)


class FunctionDeclaration(_Open):
    name: StrictStr = Field(min_length=1)
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    parametersJsonSchema: dict[str, Any] | None = None


class Tool(_Open):
    functionDeclarations: list[FunctionDeclaration] | None = None


class FunctionCallingConfig(_Open):
    mode: Literal["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"] | None = None
    allowedFunctionNames: list[StrictStr] | None = None


class ToolConfig(_Open):
    functionCallingConfig: FunctionCallingConfig | None = None


class ThinkingConfig(_Open):
    thinkingBudget: int | None = None
    thinkingLevel: StrictStr | None = None
    includeThoughts: bool | None = None


class GenerationConfig(_Open):
    temperature: float | None = Field(default=None, ge=0, le=2)
    topP: float | None = Field(default=None, ge=0, le=1)
    topK: int | None = Field(default=None, ge=0)
    maxOutputTokens: int | None = Field(default=None, ge=1)
    candidateCount: int | None = Field(default=None, ge=1, le=8)
    stopSequences: list[StrictStr] | None = Field(default=None, max_length=5)
    responseMimeType: StrictStr | None = None
    responseSchema: dict[str, Any] | None = None
    responseJsonSchema: dict[str, Any] | None = None
    thinkingConfig: ThinkingConfig | None = None
    seed: int | None = None


class GenerateContentRequest(_Open):
    contents: list[Content] = Field(min_length=1)
    systemInstruction: Content | StrictStr | None = None
    tools: list[Tool] | None = None
    toolConfig: ToolConfig | None = None
    generationConfig: GenerationConfig | None = None


class CountTokensRequest(_Open):
    """Either contents or a whole generateContentRequest, as Gemini takes them."""

    contents: list[Content] | None = None
    generateContentRequest: GenerateContentRequest | None = None

    @model_validator(mode="after")
    def _one(self) -> CountTokensRequest:
        if (self.contents is None) == (self.generateContentRequest is None):
            raise ValueError("send either contents or generateContentRequest")
        return self


class EmbedContentRequest(_Open):
    content: Content
    outputDimensionality: int | None = Field(default=None, ge=1)


class BatchEmbedContentsRequest(_Open):
    requests: list[EmbedContentRequest] = Field(min_length=1, max_length=100)

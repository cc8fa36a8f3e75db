"""OpenAI's audio routes through the real server, driven by the official openai SDK.

Transcriptions and translations reach OpenAI as the client's own form with the model id
replaced (the fake parses it with the standard library's MIME parser); Gemini gets the audio
inline in generateContent; demo/whisper and demo/tts answer offline. Speech is relayed as it
arrives. Billing charges transcribed seconds and spoken characters exactly, and holds no more
than an upload can cost.
"""
from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from chalicelib.media import wav
from tests.fakes import gemini as g
from tests.fakes import openai_audio as oa
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import UPSTREAM_KEYS, Gateway, create_key, start_gateway, upstream_env

pytestmark = pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations so
# Two and a half seconds of 16 kHz mono 8-bit PCM (16,000 bytes a second), with noise after the
# header so a byte changed on the way would show.
CLIP = wav.silence(2.5, 16_000)[:44] + os.urandom(40_000)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(48_000)  # no header that gives a duration


def _sent(fake: FakeUpstream, path: str):
    (request,) = [r for r in fake.requests if r.path == path]
    return request


def test_transcription_json_passes_the_form_through(fake, client, admin, user):
    fake.route("POST", "/v1/audio/transcriptions",
               json={"text": "Hello there.", "usage": {"type": "duration", "seconds": 3}})
    raw = client.audio.transcriptions.with_raw_response.create(
        file=("clip.wav", CLIP, "audio/wav"), model="openai/whisper-1", prompt="Greetings.", language="en",
        temperature=0.2)
    result = raw.parse()

    assert result.text == "Hello there."
    sent = _sent(fake, "/v1/audio/transcriptions")
    assert sent.headers["authorization"] == "Bearer " + UPSTREAM_KEYS["OPENAI_API_KEY"]
    assert oa.fields(sent) == {"model": ["whisper-1"], "prompt": ["Greetings."], "language": ["en"],
                               "temperature": ["0.2"]}
    (upload,) = oa.files(sent)
    assert (upload.name, upload.filename, upload.content_type, upload.data) == ("file", "clip.wav", "audio/wav", CLIP)
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["status"], call["provider"], call["model"]) == ("audio", "success", "openai", "whisper-1")
    assert (call["seconds"], call["usage_estimated"], call["surface"]) == (3, False, "openai")
    assert call["request_id"] == raw.headers["x-request-id"]


def test_transcription_text_format_and_duration_from_the_wav_header(fake, client, admin, user):
    fake.route("POST", "/v1/audio/transcriptions", body="Hello there.\n",
               headers={"content-type": "text/plain; charset=utf-8"})
    raw = client.audio.transcriptions.with_raw_response.create(file=("clip.wav", CLIP), model="whisper-1",
                                                               response_format="text")
    assert raw.http_response.text == "Hello there.\n"
    assert raw.headers["content-type"].startswith("text/plain")
    assert oa.fields(_sent(fake, "/v1/audio/transcriptions"))["response_format"] == ["text"]
    (call,) = calls_of(admin, user["account_id"])
    # A text answer has no usage: the duration is the upload's own, read from its header.
    assert (call["provider"], call["seconds"], call["usage_estimated"]) == ("openai", 2.5, False)


def test_transcription_of_an_unmeasurable_file_is_marked_estimated(fake, client, admin, user):
    fake.route("POST", "/v1/audio/transcriptions", body="Hello.", headers={"content-type": "text/plain"})
    client.audio.transcriptions.create(file=("clip.mp3", MP3), model="whisper-1", response_format="text")
    (call,) = calls_of(admin, user["account_id"])
    assert call["usage_estimated"] is True and call["seconds"] == pytest.approx(len(MP3) / 16_000)


def test_transcription_verbose_json_with_timestamps(fake, client, admin, user):
    answer = oa.verbose("The quick brown fox.", 4.25)
    fake.route("POST", "/v1/audio/transcriptions", json=answer)
    result = client.audio.transcriptions.create(file=("clip.wav", CLIP), model="whisper-1",
                                                response_format="verbose_json",
                                                timestamp_granularities=["word", "segment"])
    assert (result.text, result.duration, result.segments[0].end) == ("The quick brown fox.", 4.25, 4.25)
    assert oa.fields(_sent(fake, "/v1/audio/transcriptions"))["timestamp_granularities[]"] == ["word", "segment"]
    (call,) = calls_of(admin, user["account_id"])
    assert call["seconds"] == 5  # the provider's own usage.seconds (whole seconds, up), over the duration


def test_diarized_json_passes_to_openai_and_is_refused_where_nothing_labels_speakers(fake, client, admin, user):
    answer = {"task": "transcribe", "duration": 2.5, "text": "A: Hi.\nB: Hello.",
              "segments": [{"type": "transcript.text.segment", "id": "seg_0", "start": 0.0, "end": 1.0,
                            "text": "Hi.", "speaker": "A"},
                           {"type": "transcript.text.segment", "id": "seg_1", "start": 1.0, "end": 2.5,
                            "text": "Hello.", "speaker": "B"}],
              "usage": oa.token_usage(30, 0, 6)}
    fake.route("POST", "/v1/audio/transcriptions", json=answer)
    raw = client.audio.transcriptions.with_raw_response.create(
        file=("talk.wav", CLIP), model="gpt-4o-transcribe-diarize", response_format="diarized_json",
        extra_body={"chunking_strategy": "auto"})
    assert raw.http_response.json() == answer
    openapi.validate("CreateTranscriptionResponseDiarizedJson", raw.http_response.json())
    for model in ("demo/whisper", "google/gemini-2.5-flash"):
        with pytest.raises(openai.BadRequestError) as caught:
            client.audio.transcriptions.create(file=("talk.wav", CLIP), model=model, response_format="diarized_json")
        assert "diarized_json" in caught.value.message
    assert [r.path for r in fake.requests] == ["/v1/audio/transcriptions"]  # Gemini was never asked


def test_transcription_token_usage_of_the_gpt_4o_models(fake, client, admin, user):
    fake.route("POST", "/v1/audio/transcriptions", json={"text": "Hi.", "usage": oa.token_usage(25, 4, 3)})
    client.audio.transcriptions.create(file=("clip.wav", CLIP), model="gpt-4o-mini-transcribe")
    (call,) = calls_of(admin, user["account_id"])
    assert (call["model"], call["prompt_tokens"], call["completion_tokens"], call["seconds"]) == (
        "gpt-4o-mini-transcribe", 29, 3, 2.5)


def test_streamed_transcription_relays_openais_events(fake, client, admin, user):
    events = [{"type": "transcript.text.delta", "delta": "Hello", "logprobs": []},
              {"type": "transcript.text.delta", "delta": " there.", "logprobs": []},
              {"type": "transcript.text.done", "text": "Hello there.", "logprobs": [],
               "usage": oa.token_usage(40, 0, 4)}]
    fake.route("POST", "/v1/audio/transcriptions", sse=events)
    got = list(client.audio.transcriptions.create(file=("clip.wav", CLIP), model="openai/gpt-4o-mini-transcribe",
                                                  stream=True))
    assert [e.type for e in got] == [e["type"] for e in events]
    assert "".join(e.delta for e in got[:2]) == got[2].text == "Hello there."
    assert (got[2].usage.input_tokens, got[2].usage.output_tokens) == (40, 4)
    sent = _sent(fake, "/v1/audio/transcriptions")
    assert oa.fields(sent) == {"model": ["gpt-4o-mini-transcribe"], "stream": ["true"]}
    assert oa.files(sent)[0].data == CLIP
    (call,) = calls_of(admin, user["account_id"])
    assert (call["stream"], call["status"], call["prompt_tokens"], call["completion_tokens"], call["seconds"]) == (
        True, "success", 40, 4, 2.5)


def test_streamed_transcription_failing_mid_way_is_recorded_failed(fake, client, admin, user):
    fake.route("POST", "/v1/audio/transcriptions", sse=[
        {"type": "transcript.text.delta", "delta": "Hel"},
        {"type": "error", "error": {"message": "decoder failed", "type": "server_error"}}])
    with pytest.raises(openai.APIError) as caught:
        list(client.audio.transcriptions.create(file=("clip.wav", CLIP), model="gpt-4o-transcribe", stream=True))
    assert "decoder failed" in caught.value.message
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["credits"]) == ("failed", 0)


def test_translation(fake, client, admin, user):
    fake.route("POST", "/v1/audio/translations", json=oa.verbose("Good morning.", 1.5, task="translate"))
    result = client.audio.translations.create(file=("guten.wav", CLIP, "audio/wav"), model="openai/whisper-1",
                                              response_format="verbose_json")
    assert result.text == "Good morning."
    sent = _sent(fake, "/v1/audio/translations")
    assert oa.fields(sent) == {"model": ["whisper-1"], "response_format": ["verbose_json"]}
    assert oa.files(sent)[0].data == CLIP
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["seconds"]) == ("audio", 2)


def test_provider_error_passes_through_and_costs_nothing(fake, client, admin, user):
    message = "Audio file might be corrupted or unsupported"
    fake.route("POST", "/v1/audio/transcriptions", status=400, json={"error": {
        "message": message, "type": "invalid_request_error", "param": "file", "code": "invalid_value"}})
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(file=("clip.wav", CLIP), model="whisper-1")
    assert caught.value.body["message"] == message
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["credits"]) == ("failed", 0)


def test_speech_bytes_and_content_type(fake, client, admin, user):
    audio = b"\xff\xfb\x90\x64" + os.urandom(30_000)
    fake.route("POST", "/v1/audio/speech", body=audio, headers={"content-type": "audio/mpeg"})
    with client.audio.speech.with_streaming_response.create(model="openai/tts-1", voice="alloy",
                                                            input="Hello, world!", speed=1.25) as response:
        got = response.read()
        assert response.headers["content-type"] == "audio/mpeg"
    assert got == audio
    assert _sent(fake, "/v1/audio/speech").json == {"model": "tts-1", "voice": "alloy", "input": "Hello, world!",
                                                    "speed": 1.25}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["status"], call["model"], call["prompt_tokens"]) == ("audio", "success", "tts-1", 13)


def test_speech_reaches_the_client_as_it_arrives(fake, gateway, user):
    rule = fake.add_rule(oa.GatedSpeech(b"first-piece", b"second-piece"))
    with httpx.stream("POST", gateway.url + "/v1/audio/speech", timeout=20,
                      headers={"authorization": f"Bearer {user['key']}"},
                      json={"model": "openai/tts-1", "voice": "alloy", "input": "hi"}) as response:
        pieces = response.iter_raw()
        first = next(pieces)
        rule.first_read.set()
        rest = b"".join(pieces)
    assert first == b"first-piece" and rest == b"second-piece"
    assert not rule.gave_up  # the first piece came before the provider sent the second


def test_speech_client_gone_mid_way_is_still_recorded_and_the_upstream_released(fake, gateway, admin, user):
    rule = fake.add_rule(oa.GatedSpeech(b"first-piece", b"never-read"))
    with httpx.stream("POST", gateway.url + "/v1/audio/speech", timeout=20,
                      headers={"authorization": f"Bearer {user['key']}"},
                      json={"model": "openai/tts-1", "voice": "alloy", "input": "leaving early"}) as response:
        assert next(response.iter_raw()) == b"first-piece"
    rule.first_read.set()  # the provider may finish now; the gateway must not wait for it
    deadline = time.monotonic() + 10
    while not (calls := calls_of(admin, user["account_id"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    (call,) = calls
    assert (call["status"], call["error_code"], call["prompt_tokens"]) == ("success", "client_disconnected", 13)


def test_demo_models_offline(client, admin, user):
    text = client.audio.transcriptions.create(file=("clip.wav", CLIP), model="demo/whisper", response_format="text")
    assert text.strip() == "demo transcript of 2.50 seconds"
    srt = client.audio.transcriptions.create(file=("clip.wav", CLIP), model="demo/whisper", response_format="srt")
    assert srt == "1\n00:00:00,000 --> 00:00:02,500\ndemo transcript of 2.50 seconds\n\n"
    translated = client.audio.translations.create(file=("clip.wav", CLIP), model="demo/whisper")
    assert translated.text == "demo translation of 2.50 seconds"
    streamed = list(client.audio.transcriptions.create(file=("clip.wav", CLIP), model="demo/whisper", stream=True))
    assert "".join(e.delta for e in streamed[:-1]) == streamed[-1].text == "demo transcript of 2.50 seconds"
    short = client.audio.speech.create(model="demo/tts", voice="alloy", input="hi")
    long = client.audio.speech.create(model="demo/tts", voice="alloy", input="hello there, how are you")
    assert short.response.headers["content-type"] == "audio/wav"
    assert (wav.duration(short.content), wav.duration(long.content)) == (0.1, 1.2)  # 0.05 s a character
    for fmt, schema in (("json", "CreateTranscriptionResponseJson"),
                        ("verbose_json", "CreateTranscriptionResponseVerboseJson")):
        raw = client.audio.transcriptions.with_raw_response.create(file=("clip.wav", CLIP), model="demo/whisper",
                                                                   response_format=fmt)
        openapi.validate(schema, raw.http_response.json())
    calls = calls_of(admin, user["account_id"])
    assert [c["type"] for c in calls] == ["audio"] * 8 and {c["provider"] for c in calls} == {"demo"}
    assert [c["stream"] for c in calls].count(True) == 1


def test_gemini_translation_inline_audio(fake, client, admin, user):
    path = g.path("gemini-2.5-flash", "generateContent")
    fake.route("POST", path, json=g.response([g.candidate([g.text("Good morning, everyone.\n")])],
                                             g.usage(90, 6)))
    raw = client.audio.translations.with_raw_response.create(
        file=("guten.wav", CLIP, "audio/wav"), model="google/gemini-2.5-flash", response_format="verbose_json")
    openapi.validate("CreateTranslationResponseVerboseJson", raw.http_response.json())
    result = raw.parse()
    assert (result.text, result.duration) == ("Good morning, everyone.", 2.5)
    sent = _sent(fake, path)
    assert sent.headers["x-goog-api-key"] == UPSTREAM_KEYS["GEMINI_API_KEY"]
    (content,) = sent.json["contents"]
    instruction, audio = content["parts"]
    assert "into English" in instruction["text"]
    assert audio == {"inlineData": {"mimeType": "audio/wav", "data": base64.b64encode(CLIP).decode()}}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["provider"], call["prompt_tokens"], call["completion_tokens"], call["seconds"]) == (
        "google", 90, 6, 2.5)


def test_gemini_streamed_transcription(fake, client, admin, user):
    fake.route("POST", g.path("gemini-2.5-flash", "generateContent"),
               json=g.response([g.candidate([g.text("Guten Morgen.")])], g.usage(80, 4)))
    events = list(client.audio.transcriptions.create(file=("guten.wav", CLIP), model="google/gemini-2.5-flash",
                                                     language="de", stream=True))
    assert [e.type for e in events] == ["transcript.text.delta"] * 2 + ["transcript.text.done"]
    assert "".join(e.delta for e in events[:2]) == events[2].text == "Guten Morgen."
    (call,) = calls_of(admin, user["account_id"])
    assert (call["stream"], call["prompt_tokens"], call["completion_tokens"], call["seconds"]) == (True, 80, 4, 2.5)


def test_an_operators_openai_compatible_provider_gets_the_form(fake, client, admin, user):
    name = "whisperhost"
    created = admin.post("/admin/providers", json={"name": name, "kind": "openai",
                                                   "base_url": f"{fake.base_url}/{name}/v1"})
    assert created.status_code == 201, created.text
    try:
        key = admin.post(f"/admin/providers/{name}/credentials",
                         json={"name": "k", "value": "sk-whisperhost-SECRET-0123", "check": False})
        assert key.status_code == 201, key.text
        fake.route("POST", f"/{name}/v1/audio/transcriptions", json={"text": "Hola."})
        result = client.audio.transcriptions.create(file=("hola.wav", CLIP), model=f"{name}/whisper-large-v3",
                                                    extra_body={"chunking_strategy": "auto"})
        assert result.text == "Hola."
        sent = _sent(fake, f"/{name}/v1/audio/transcriptions")
        assert sent.headers["authorization"] == "Bearer sk-whisperhost-SECRET-0123"
        # A field the gateway does not model reaches the provider too.
        assert oa.fields(sent) == {"model": ["whisper-large-v3"], "chunking_strategy": ["auto"]}
        assert oa.files(sent)[0].data == CLIP
        (call,) = calls_of(admin, user["account_id"])
        assert (call["provider"], call["seconds"]) == (name, 2.5)
    finally:
        admin.delete(f"/admin/providers/{name}")


def test_missing_file_is_a_400_naming_it(gateway, user):
    response = httpx.post(gateway.url + "/v1/audio/transcriptions", headers={"authorization": f"Bearer {user['key']}"},
                          files={"model": (None, "whisper-1")})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "file"


def test_bad_fields_and_bodies_are_400s(client, gateway, user):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(file=("clip.wav", CLIP), model="whisper-1", response_format="yaml")
    assert caught.value.body["param"] == "response_format"
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.translations.create(file=("clip.wav", CLIP), model="whisper-1", extra_body={"stream": True})
    assert caught.value.body["param"] == "stream"
    not_form = httpx.post(gateway.url + "/v1/audio/transcriptions", json={"model": "whisper-1"},
                          headers={"authorization": f"Bearer {user['key']}"})
    assert not_form.status_code == 400 and not_form.json()["error"]["code"] == "invalid_content_type"
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="demo/tts", voice="alloy", input="")
    assert caught.value.body["param"] == "input"


def test_a_provider_without_audio_is_a_clear_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(file=("clip.wav", CLIP), model="anthropic/claude-sonnet-4-5")
    assert "anthropic does not offer audio transcription" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="google/gemini-2.5-flash", voice="alloy", input="hi")
    assert caught.value.body["param"] == "model"


# -- billing and the upload limit: a gateway of its own ----------------------------------------

LIMIT = 200_000
RATES = {  # credits per second (second_rate), per character (input_rate of speech)
    ("openai", "whisper-1"): {"type": "audio", "second_rate": "0.0001"},
    ("demo", "whisper"): {"type": "audio", "second_rate": "0.003"},
    ("openai", "tts-1"): {"type": "audio", "input_rate": "0.000015"},
    ("demo", "tts"): {"type": "audio", "input_rate": "0.0002"},
}


@pytest.fixture(scope="module")
def billed(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_AUDIO_MAX_BYTES": str(LIMIT)}
    gw = start_gateway(tmp_path_factory.mktemp("audio-billing"), env)
    with gw.admin() as api:
        for (provider, model), rate in RATES.items():
            body = {"provider": provider, "model": model, **{k: v if k == "type" else float(v) for k, v in rate.items()}}
            assert api.post("/admin/model-rates", json=body).status_code == 201
    yield gw
    gw.stop()


@pytest.fixture
def billed_api(billed: Gateway) -> Iterator[httpx.Client]:
    with billed.admin() as c:
        yield c


def _rate(provider: str, model: str, name: str) -> Decimal:
    return Decimal(RATES[(provider, model)][name])


def _charge(api: httpx.Client, key: dict) -> tuple[dict, Decimal]:
    (call,) = calls_of(api, key["account_id"])
    ledger = api.get(f"/admin/accounts/{key['account_id']}/ledger").json()["data"]
    (charge,) = [e for e in ledger if e["kind"] == "charge"]
    assert -Decimal(str(charge["amount"])) == Decimal(str(call["credits"]))  # the ledger debits
    return call, Decimal(str(call["credits"]))


def test_billed_per_second_of_the_providers_duration(fake, billed, billed_api):
    key = create_key(billed_api, credits=1)
    fake.route("POST", "/v1/audio/transcriptions", json=oa.verbose("Hello.", 3.517))
    del fake.requests[:]
    billed.openai(key["key"]).audio.transcriptions.create(file=("clip.wav", CLIP), model="openai/whisper-1",
                                                          response_format="verbose_json")
    call, credits = _charge(billed_api, key)
    assert call["seconds"] == 4  # usage.seconds (OpenAI bills whole seconds) wins over the duration
    assert credits == 4 * _rate("openai", "whisper-1", "second_rate")
    balance = httpx.get(billed.url + "/v1/credits", headers={"authorization": f"Bearer {key['key']}"}).json()
    assert Decimal(str(balance["balance"])) == 1 - credits and balance["reserved"] == 0


def test_billed_per_second_of_the_wav_header(billed, billed_api):
    key = create_key(billed_api, credits=1)
    billed.openai(key["key"]).audio.transcriptions.create(file=("clip.wav", CLIP), model="demo/whisper")
    call, credits = _charge(billed_api, key)
    assert call["seconds"] == 2.5 and credits == Decimal("2.5") * _rate("demo", "whisper", "second_rate")


def test_speech_billed_per_character(fake, billed, billed_api):
    key = create_key(billed_api, credits=1)
    fake.route("POST", "/v1/audio/speech", body=b"ID3" + os.urandom(1000), headers={"content-type": "audio/mpeg"})
    text = "Twenty-nine characters here."
    billed.openai(key["key"]).audio.speech.create(model="openai/tts-1", voice="nova", input=text).read()
    call, credits = _charge(billed_api, key)
    assert call["prompt_tokens"] == len(text) and credits == len(text) * _rate("openai", "tts-1", "input_rate")


def test_hold_is_bounded_by_the_upload(billed, billed_api):
    # 48 KB of compressed audio may last 96 s at the lowest bitrate a decoder takes (4 kbit/s):
    # 0.288 credits at 0.003 a second, so 0.2 credits cannot hold it, while the 2.5 s WAV,
    # whose header says how long it is, needs only 0.0075.
    key = create_key(billed_api, credits=0.2)
    client = billed.openai(key["key"])
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(file=("clip.mp3", MP3), model="demo/whisper")
    assert caught.value.status_code == 402
    client.audio.transcriptions.create(file=("clip.wav", CLIP), model="demo/whisper")
    calls = calls_of(billed_api, key["account_id"])
    assert [c["status"] for c in calls] == ["success", "failed"]


def test_upload_over_the_limit_is_a_413_naming_it(billed, billed_api):
    key = create_key(billed_api, credits=1)
    with pytest.raises(openai.APIStatusError) as caught:
        billed.openai(key["key"]).audio.transcriptions.create(file=("big.wav", os.urandom(LIMIT + 1)),
                                                              model="demo/whisper", response_format="yaml")
    assert caught.value.status_code == 413
    assert f"the limit is {LIMIT} bytes" in caught.value.message  # before the bad format is looked at

"""The blob store: URL signing (pure), the local folder, and the S3 store against botocore's Stubber."""
from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.stub import ANY, Stubber

from chalicelib.blobs import Blob, content_type, new_id, signing
from chalicelib.blobs.local import LocalStore
from chalicelib.blobs.s3 import PREFIX, S3Store

SECRET = "unit-test-secret-0123456789-0123456789"
BLOB = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh.mp4"
NOW = 1_800_000_000


def test_a_signed_token_verifies_until_it_expires():
    token = signing.sign(SECRET, BLOB, NOW + 60)
    assert signing.verify(SECRET, token, NOW) == (BLOB, NOW + 60)
    assert signing.verify(SECRET, token, NOW + 59) == (BLOB, NOW + 60)
    assert signing.verify(SECRET, token, NOW + 60) is None  # expired at its second


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace(str(NOW + 60), str(NOW + 600), 1),  # a longer life
    lambda t: t.replace(BLOB, "A" + BLOB[1:]),  # another file
    lambda t: t[:15] + ("A" if t[15] != "A" else "B") + t[16:],  # a changed signature
    lambda t: t.rsplit(".", 2)[0],  # truncated
    lambda t: "",
    lambda t: f"{NOW + 60}..{BLOB}",
    lambda t: t.replace(BLOB, "../../aihub.db"),
])
def test_a_tampered_token_is_refused(tamper):
    assert signing.verify(SECRET, tamper(signing.sign(SECRET, BLOB, NOW + 60)), NOW) is None


def test_another_secret_neither_verifies_nor_matches():
    token = signing.sign(SECRET, BLOB, NOW + 60)
    other = SECRET + "x"
    assert signing.verify(other, token, NOW) is None
    assert signing.sign(other, BLOB, NOW + 60) != token


@pytest.mark.parametrize("blob_id", ["../etc/passwd", "short.mp4", BLOB + "/x", BLOB.replace(".mp4", "")])
def test_only_blob_ids_are_signed(blob_id):
    with pytest.raises(ValueError):
        signing.sign(SECRET, blob_id, NOW)


def test_new_ids_are_random_and_typed():
    ids = {new_id("video/mp4") for _ in range(100)}
    assert len(ids) == 100 and all(signing.BLOB_ID.match(i) and i.endswith(".mp4") for i in ids)
    assert content_type(new_id("image/png")) == "image/png"
    assert content_type(new_id("text/html")) == "application/octet-stream"  # never served as a page


def test_local_store_commits_streams_and_purges(tmp_path: Path):
    store = LocalStore(tmp_path / "blobs")
    store.staging.mkdir(parents=True)
    partial = store.staging / "x"
    partial.write_bytes(b"a" * 600_000)
    store.commit(partial, BLOB)
    assert not partial.exists() and store.size(BLOB) == 600_000

    async def read() -> list[int]:
        return [len(chunk) async for chunk in store.chunks(BLOB)]

    assert asyncio.run(read()) == [262_144, 262_144, 75_712]  # in pieces, never whole
    assert store.size("../aihub.db") is None
    assert store.purge_older_than(0) == 0 and store.size(BLOB) == 600_000
    assert store.purge_older_than(4e9) == 1 and store.size(BLOB) is None


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> S3Store:
    for name, value in (("AWS_ACCESS_KEY_ID", "AKIAUNITTEST"), ("AWS_SECRET_ACCESS_KEY", "unit-test-secret")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return S3Store("aihub-blobs", "eu-west-1")


def test_s3_store_uploads_with_the_content_type(tmp_path: Path, s3: S3Store):
    store, stub = s3, Stubber(s3.client)
    path = tmp_path / "partial"
    path.write_bytes(b"video bytes")
    stub.add_response("put_object", {"ETag": '"1"'},
                      {"Bucket": "aihub-blobs", "Key": PREFIX + BLOB, "Body": ANY, "ContentType": "video/mp4"})
    with stub:
        store.commit(path, BLOB)
    stub.assert_no_pending_responses()
    assert not path.exists()  # the temporary file is gone once uploaded


def test_s3_store_hands_out_expiring_presigned_urls(s3: S3Store):
    url = urlsplit(s3.url(BLOB, "https://ignored.example", 900))
    query = parse_qs(url.query)
    assert url.netloc.startswith("aihub-blobs.s3") and url.path == "/" + PREFIX + BLOB
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query


def test_saving_into_the_store_streams_to_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import chalicelib.blobs as blobs

    store = LocalStore(tmp_path)
    monkeypatch.setattr(blobs, "blob_store", lambda: store)

    async def pieces():
        for _ in range(3):
            yield b"x" * 1000

    saved = asyncio.run(blobs.save(pieces(), "video/mp4"))
    assert isinstance(saved, Blob) and saved.size == 3000 and saved.content_type == "video/mp4"
    assert (tmp_path / saved.id).read_bytes() == b"x" * 3000
    assert list(store.staging.iterdir()) == []  # nothing partial left behind

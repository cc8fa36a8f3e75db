"""The blob store as a private S3 bucket: objects handed out as presigned GET URLs.

boto3 is imported on first use only (Lambda cold start). The bucket's lifecycle rule (infra/)
deletes old objects; aihub itself never lists or deletes them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from chalicelib.blobs import content_type

PREFIX = "blobs/"


class S3Store:
    def __init__(self, bucket: str, region: str | None) -> None:
        self.bucket = bucket
        self.region = region
        self._client: Any = None
        self.staging = Path(tempfile.gettempdir()) / "aihub-blobs"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # SigV4: the only presigning S3 accepts for KMS-encrypted objects and newer regions.
            self._client = boto3.session.Session().client(
                "s3", region_name=self.region, config=Config(signature_version="s3v4"))
        return self._client

    def commit(self, path: Path, blob_id: str) -> None:
        try:
            with path.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=PREFIX + blob_id, Body=body,
                                       ContentType=content_type(blob_id))
        finally:
            path.unlink(missing_ok=True)

    def url(self, blob_id: str, base_url: str, ttl_s: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": PREFIX + blob_id}, ExpiresIn=ttl_s)


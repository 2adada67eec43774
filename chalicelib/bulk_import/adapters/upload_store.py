"""Staged bulk submissions in S3, under ``{upload_prefix}/{user_id}/{job_id}.{json|csv}``.

Objects are encrypted at rest (SSE-S3) and expire through the bucket's lifecycle rule
(``infra/resources.py``), so no cleanup job is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.bulk_import.domain import MEDIA_TYPES
from chalicelib.platform.errors import DependencyUnavailable, NotFound


class S3UploadStore:
    """``UploadStore`` on the files bucket."""

    def __init__(self, client: Callable[[], Any], bucket: str, prefix: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")

    def key_for(self, user_id: str, job_id: str, fmt: str) -> str:
        """Where a submission is staged: under its owner's own prefix."""
        return f"{self._prefix}/{user_id}/{job_id}.{fmt}"

    def put(self, user_id: str, job_id: str, fmt: str, body: bytes) -> str:
        """Stage the raw body; return its key."""
        key = self.key_for(user_id, job_id, fmt)
        try:
            self._client().put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=MEDIA_TYPES[fmt],
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable("the upload store is unavailable") from exc
        return key

    def get(self, key: str) -> bytes:
        """The staged body; ``NotFound`` once it expired or was removed."""
        try:
            answer = self._client().get_object(Bucket=self._bucket, Key=key)
            body: bytes = answer["Body"].read()
            return body
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise NotFound(f"the staged upload {key} is gone") from exc
            raise DependencyUnavailable("the upload store is unavailable") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("the upload store is unavailable") from exc

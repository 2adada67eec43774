"""Export files in S3, under ``<export_prefix>/<user_id>/<job_id>.<ext>`` (``ExportFiles``).

Uploads go through boto3's transfer manager (s3transfer, the SDK's own): a file below
``MULTIPART_THRESHOLD`` (5 MiB) is one ``PutObject``; a larger one is a multipart upload of
``PART_BYTES`` parts (the last one smaller), read from the stream as it is produced, so at most
one part is in memory. If the stream or a part fails, s3transfer aborts the multipart upload;
the bucket's lifecycle rule aborts one a dead worker left behind after a day
(``AbortIncompleteMultipartUpload``) and deletes export files after ``export_retention_days``.
Every object is encrypted at rest (SSE-S3) and carries its ``Content-Type`` and
``Content-Disposition: attachment; filename="books-<date>.<ext>"``, which S3 sends back on the
presigned GET.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import DependencyUnavailable

MIB = 1024 * 1024
# S3 needs every part but the last to be at least 5 MiB; below this a file is one PutObject.
MULTIPART_THRESHOLD = 5 * MIB
# Parts of S3's minimum: the least memory a part takes (10,000 parts: files up to 48 GiB).
PART_BYTES = 5 * MIB
# What the stream reader asks its source for at a time (bytes).
READ_BUFFER = 1 * MIB


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks that counts what was read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.size += count
        return count


class S3ExportFiles:
    """``ExportFiles`` on the files bucket."""

    def __init__(self, client: Callable[[], Any], bucket: str, prefix: str) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        # One part at a time, in the caller's thread: the stream is produced as it is read.
        self._config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=PART_BYTES,
            use_threads=False,
        )

    def key_for(self, user_id: str, job_id: str, extension: str) -> str:
        """Where a job's file goes: under its owner's own prefix, named after the job (a rerun
        writes the same key, so a job never has two files)."""
        return f"{self._prefix}/{user_id}/{job_id}.{extension}"

    def upload_stream(
        self, key: str, chunks: Iterable[bytes], media_type: str, disposition: str
    ) -> int:
        """Store the bytes of ``chunks`` as they come; return the size in bytes.

        An exception from ``chunks`` (the catalogue read failing, the time running out) ends
        the upload: it is aborted and the exception propagates. S3 failures are
        ``DependencyUnavailable``.
        """
        reader = _ChunkReader(chunks)
        self._upload(key, io.BufferedReader(reader, READ_BUFFER), media_type, disposition)
        return reader.size

    def upload_file(self, key: str, file: BinaryIO, media_type: str, disposition: str) -> int:
        """Store a seekable file from its start; return its size in bytes."""
        size = file.seek(0, io.SEEK_END)
        file.seek(0)
        self._upload(key, file, media_type, disposition)
        return size

    def _upload(self, key: str, file: BinaryIO, media_type: str, disposition: str) -> None:
        extra = {
            "ContentType": media_type,
            "ContentDisposition": disposition,
            "ServerSideEncryption": "AES256",
        }
        try:
            self._client().upload_fileobj(
                file, self._bucket, key, ExtraArgs=extra, Config=self._config
            )
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise DependencyUnavailable(f"the export store is unavailable ({exc})") from exc

    def presign(self, key: str, seconds: int) -> str:
        """A presigned GET URL of the file (SigV4, signed locally: no request is made). Its host
        is the S3 client's endpoint: AWS's, or ``AWS_ENDPOINT_URL`` locally (moto server or
        LocalStack on 127.0.0.1:4566 in ``make run``), so the link opens from the same machine."""
        url: str = self._client().generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )
        return url

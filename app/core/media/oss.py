"""Aliyun OSS through the official ``oss2`` SDK (the calls; uploads, retries and errors are in cloud.py).

Requests are signed with V4 (``OSS4-HMAC-SHA256``, scoped to the bucket's region), which Aliyun
requires of new accounts and buckets; ``auth_version="v1"`` keeps the older HMAC-SHA1 scheme for
OSS-compatible gateways that only know it. The SDK's own CRC check is off because cloud.py checks
CRC-64 itself (the same x-oss-hash-crc64ecma header) while streaming.

An endpoint such as ``http://127.0.0.1:9000`` (an IP or localhost) makes oss2 address the bucket in
the path (``/bucket/key``); a domain makes it a virtual host (``bucket.oss-cn-hangzhou.aliyuncs.com``).
"""

from __future__ import annotations

import logging
from typing import Any

import oss2
import oss2.exceptions as oe

from .cloud import CloudStorage, Download, Failure, _Slice, network_reason, parse_crc
from .config import CloudConfig

__all__ = ["OssStorage"]

# oss2 logs every request at DEBUG and every refused one at INFO; our errors say what matters.
logging.getLogger("oss2").setLevel(logging.WARNING)

_BUSY = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "TooManyRequests", "QpsLimitExceeded"}
_AUTH = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidSecurityToken", "SecurityTokenExpired"}


class OssStorage(CloudStorage):
    """Media objects in an OSS bucket under ``config.prefix``. See CloudStorage for the other arguments."""

    name = "oss"

    def __init__(self, config: CloudConfig, secret: str, *, auth_version: str = "v4", **options: Any) -> None:
        super().__init__(config, secret, **options)
        if auth_version not in ("v1", "v4"):
            raise ValueError(f"auth_version must be 'v1' or 'v4', not {auth_version!r}")
        self.auth_version = auth_version
        auth = oss2.AuthV4(config.access_key_id, secret) if auth_version == "v4" else \
            oss2.Auth(config.access_key_id, secret)
        self._bucket = oss2.Bucket(auth, config.endpoint, config.bucket, connect_timeout=self.timeout,
                                   enable_crc=False, region=config.region, app_name="wecom-auditor",
                                   session=oss2.Session(pool_size=16))

    # ------------------------------------------------------------------ calls
    def _put_object(self, okey: str, body: _Slice, length: int, content_type: str | None) -> int | None:
        headers = {"Content-Type": content_type} if content_type else None
        result = self._bucket.put_object(okey, body, headers=headers)
        return parse_crc(result.headers.get("x-oss-hash-crc64ecma"))

    def _initiate(self, okey: str, content_type: str | None) -> str:
        headers = {"Content-Type": content_type} if content_type else None
        upload_id: str = self._bucket.init_multipart_upload(okey, headers=headers).upload_id
        return upload_id

    def _upload_part(self, okey: str, upload_id: str, number: int, body: _Slice, length: int) -> tuple[str, int | None]:
        result = self._bucket.upload_part(okey, upload_id, number, body)
        return result.etag, parse_crc(result.headers.get("x-oss-hash-crc64ecma"))

    def _complete(self, okey: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        self._bucket.complete_multipart_upload(okey, upload_id, [oss2.models.PartInfo(n, etag) for n, etag in parts])

    def _abort(self, okey: str, upload_id: str) -> None:
        self._bucket.abort_multipart_upload(okey, upload_id)

    def _get(self, okey: str, start: int, if_match: str | None) -> Download:
        headers = {"If-Match": f'"{if_match}"'} if if_match else None
        result = self._bucket.get_object(okey, byte_range=(start, None) if start else None, headers=headers)
        response = result.resp.response  # the requests.Response: read the bytes as sent, unchanged
        length = int(response.headers.get("Content-Length", "0"))
        total = start + length
        content_range = response.headers.get("Content-Range", "")
        if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
            total = int(content_range.rsplit("/", 1)[1])
        elif start:
            start = 0  # the whole object came back: the caller sees the Range was ignored
        return Download(read=lambda n: response.raw.read(n), close=response.close, total=total, start=start,
                        etag=(result.etag or "").strip('"'),
                        crc64=parse_crc(response.headers.get("x-oss-hash-crc64ecma")))

    def _head(self, okey: str) -> int | None:
        try:
            length: int | None = self._bucket.head_object(okey).content_length
            return length
        except oe.NotFound as exc:
            if exc.code == "NoSuchBucket":
                raise
            return None

    def _delete_many(self, okeys: list[str]) -> list[str]:
        deleted = set(self._bucket.batch_delete_objects(okeys).deleted_keys)
        return [k for k in okeys if k not in deleted]

    def _sign_get(self, okey: str, expires_in: int) -> str:
        url: str = self._bucket.sign_url("GET", okey, expires_in, slash_safe=True)
        return url

    # ------------------------------------------------------------------ errors
    def _classify_sdk(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, oe.RequestError):
            return Failure("network", message=network_reason(exc.exception))
        if isinstance(exc, oe.InconsistentError):
            return Failure("corrupt", message=str(exc.body))
        if isinstance(exc, oe.ClientError):
            return Failure("other", message=str(exc.body))
        if not isinstance(exc, oe.OssError):
            return None
        status, code = exc.status, exc.code or ""
        failure = Failure("other", status=status, code=code, message=str(exc.message or ""),
                          request_id=exc.request_id or "")
        if status in (429, 500, 502, 503, 504) or code in _BUSY:
            kind = "busy"
        elif code == "RequestTimeTooSkewed":
            kind = "clock"
        elif code == "NoSuchBucket":
            kind = "no_bucket"
        elif status == 403 or code in _AUTH:
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        else:
            return failure
        return Failure(kind, status=status, code=code, message=failure.message, request_id=failure.request_id)

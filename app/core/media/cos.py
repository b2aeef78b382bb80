"""Tencent COS through the official ``cos-python-sdk-v5`` SDK (module ``qcloud_cos``); uploads, retries
and errors are in cloud.py.

Requests carry COS's signature (``q-sign-algorithm=sha1``: KeyTime, SignKey, HttpString,
StringToSign), made by the SDK. The SDK's own retry loop is switched off (``retry=0``) so that every
call is retried once, by cloud.py, with backoff.

Endpoints: "" uses the region's (``<bucket>.cos.<region>.myqcloud.com``); a bare domain replaces the
region's endpoint domain; ``http(s)://host[:port]`` connects to that address and names the bucket in
the Host header (``<bucket>.cos.<region>.myqcloud.com``), which is how the tests reach their loopback
server and how a private gateway is used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosClientError, CosServiceError

from .cloud import CloudStorage, Download, Failure, _Slice, network_reason, parse_crc
from .config import CloudConfig

__all__ = ["CosStorage"]

# qcloud_cos logs request headers and the derived signing key at DEBUG, and every refused request at
# ERROR with a stack; our errors say what matters and never carry key material.
logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)

_BUSY = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "TooManyRequests"}
_AUTH = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidSecurityToken", "ExpiredToken"}


def _header(headers: dict[str, str], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


class CosStorage(CloudStorage):
    """Media objects in a COS bucket (``BucketName-APPID``) under ``config.prefix``."""

    name = "cos"

    def __init__(self, config: CloudConfig, secret: str, **options: Any) -> None:
        super().__init__(config, secret, **options)
        kwargs: dict[str, Any] = {"Region": config.region or None, "SecretId": config.access_key_id, "SecretKey": secret,
                        "Timeout": self.timeout, "PoolConnections": 16, "PoolMaxSize": 16, "Scheme": "https"}
        if "://" in config.endpoint:
            parts = urlsplit(config.endpoint)
            kwargs.update(IP=parts.hostname, Port=parts.port, Scheme=parts.scheme)
        elif config.endpoint:
            kwargs.update(Endpoint=config.endpoint)
        self._client = CosS3Client(CosConfig(**kwargs), retry=0)
        self._b = config.bucket

    # ------------------------------------------------------------------ calls
    def _put_object(self, okey: str, body: _Slice, length: int, content_type: str | None) -> int | None:
        extra = {"ContentType": content_type} if content_type else {}
        response = self._client.put_object(Bucket=self._b, Body=body, Key=okey, ContentLength=str(length), **extra)
        return parse_crc(_header(response, "x-cos-hash-crc64ecma"))

    def _initiate(self, okey: str, content_type: str | None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        upload_id: str = self._client.create_multipart_upload(Bucket=self._b, Key=okey, **extra)["UploadId"]
        return upload_id

    def _upload_part(self, okey: str, upload_id: str, number: int, body: _Slice, length: int) -> tuple[str, int | None]:
        response = self._client.upload_part(Bucket=self._b, Body=body, Key=okey, PartNumber=number,
                                            UploadId=upload_id, ContentLength=str(length))
        return (_header(response, "ETag") or "").strip('"'), parse_crc(_header(response, "x-cos-hash-crc64ecma"))

    def _complete(self, okey: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        self._client.complete_multipart_upload(
            Bucket=self._b, Key=okey, UploadId=upload_id,
            MultipartUpload={"Part": [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in parts]})

    def _abort(self, okey: str, upload_id: str) -> None:
        self._client.abort_multipart_upload(Bucket=self._b, Key=okey, UploadId=upload_id)

    def _get(self, okey: str, start: int, if_match: str | None) -> Download:
        extra: dict[str, Any] = {}
        if start:
            extra["Range"] = f"bytes={start}-"
        if if_match:
            extra["IfMatch"] = f'"{if_match}"'
        response = self._client.get_object(Bucket=self._b, Key=okey, **extra)
        raw = response["Body"].get_raw_stream()
        length = int(_header(response, "Content-Length") or 0)
        total = start + length
        content_range = _header(response, "Content-Range") or ""
        if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
            total = int(content_range.rsplit("/", 1)[1])
        elif start:
            start = 0  # the whole object came back: the caller sees the Range was ignored
        return Download(read=lambda n: raw.read(n), close=raw.close, total=total, start=start,
                        etag=(_header(response, "ETag") or "").strip('"'),
                        crc64=parse_crc(_header(response, "x-cos-hash-crc64ecma")))

    def _head(self, okey: str) -> int | None:
        try:
            response = self._client.head_object(Bucket=self._b, Key=okey)
        except CosServiceError as exc:
            if exc.get_status_code() == 404:
                return None
            raise
        return int(_header(response, "Content-Length") or 0)

    def _delete_many(self, okeys: list[str]) -> list[str]:
        response = self._client.delete_objects(
            Bucket=self._b, Delete={"Quiet": "false", "Object": [{"Key": k} for k in okeys]})
        deleted = {d.get("Key") for d in response.get("Deleted", [])}
        return [k for k in okeys if k not in deleted]

    def _sign_get(self, okey: str, expires_in: int) -> str:
        url: str = self._client.get_presigned_url(Bucket=self._b, Key=okey, Method="GET", Expired=expires_in)
        return url

    # ------------------------------------------------------------------ errors
    def _classify_sdk(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, CosServiceError):
            status = exc.get_status_code()
            digest = exc.get_digest_msg()
            # A parsed XML error (a dict) or, for an answer without a body (HEAD), the response headers.
            fields = {str(k).lower(): str(v) for k, v in digest.items()} if isinstance(digest, Mapping) else {}
            code = fields.get("code") or fields.get("x-cos-error-code", "")
            failure = Failure("other", status=status, code=code, message=fields.get("message", ""),
                              request_id=fields.get("requestid") or fields.get("x-cos-request-id", ""))
            if status in (429, 500, 502, 503, 504) or code in _BUSY:
                kind = "busy"
            elif code == "RequestTimeTooSkewed" or (code == "AccessDenied" and "expired" in failure.message.lower()):
                kind = "clock"  # our requests are signed just before they are sent: "expired" means the clock
            elif code == "NoSuchBucket":
                kind = "no_bucket"
            elif status == 403 or code in _AUTH:
                kind = "auth"
            elif status == 404:
                kind = "not_found"
            else:
                return failure
            return Failure(kind, status=status, code=code, message=failure.message, request_id=failure.request_id)
        if isinstance(exc, CosClientError):
            # The SDK turns a network failure into CosClientError(str(e)) while handling the requests error.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, requests.RequestException | OSError):
                return Failure("network", message=network_reason(cause))
            return Failure("other", message=exc.get_message() if hasattr(exc, "get_message") else str(exc))
        return None

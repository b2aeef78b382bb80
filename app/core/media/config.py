"""The non-secret configuration of a cloud media backend, read from the settings and checked.

``cloud_config(settings, "oss"|"cos")`` gives a :class:`CloudConfig` or raises
:class:`~app.core.config.settings.SettingsError` naming the setting to fix (``oss_bucket``,
``cos_region``, ...). ``Settings.validate`` runs the same check for the backend in use, so a settings
file that selects a cloud backend without its bucket is refused with that message.

Defaults: an OSS endpoint left empty is the region's public endpoint
(``https://oss-<region>.aliyuncs.com``), and an OSS region left empty is read from an Aliyun endpoint
name. A COS endpoint left empty is the region's (``cos.<region>.myqcloud.com``, chosen by the SDK).
An endpoint may also be ``http(s)://host[:port]``: the address to connect to (a gateway, a private
link, or the tests' loopback server); the bucket is then named in the path (OSS) or in the Host
header (COS), as the services expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.config.settings import Settings, SettingsError

__all__ = ["CLOUD_BACKENDS", "CloudConfig", "check_storage_settings", "cloud_config", "normalise_prefix"]

CLOUD_BACKENDS = ("oss", "cos")

_OSS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_COS_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{1,40}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?")
_KEY_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
_ALIYUN_ENDPOINT = re.compile(r"oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com")
_PREFIX_BAD = re.compile(r"[\x00-\x1f\x7f\\:]")


@dataclass(frozen=True)
class CloudConfig:
    """Where a cloud backend keeps the media. ``prefix`` is "" or ends with "/"; ``endpoint`` is a URL
    with its scheme for OSS, and for COS "" (the region's), a bare domain, or a URL."""

    backend: str
    bucket: str
    region: str
    endpoint: str
    prefix: str
    access_key_id: str

    @property
    def service(self) -> str:
        return {"oss": "Aliyun OSS", "cos": "Tencent COS"}[self.backend]

    def describe(self) -> str:
        """Bucket and endpoint for messages (no secret in it)."""
        where = self.endpoint or f"region {self.region}"
        return f"{self.service} bucket {self.bucket!r} at {where}"


def normalise_prefix(prefix: str, field: str = "prefix") -> str:
    """``"a/b/"`` for ``"/a/b"``; "" for ""; SettingsError for a prefix no key could safely start with."""
    text = (prefix or "").strip().strip("/")
    if not text:
        return ""
    parts = text.split("/")
    if len(text) > 200 or _PREFIX_BAD.search(text) or any(p in ("", ".", "..") for p in parts):
        raise SettingsError(f"{field} {prefix!r} is not a usable folder name: use letters, digits, '-', '_', '.' "
                            "and '/' between folders (no '..', '\\\\' or ':'), at most 200 characters")
    return text + "/"


def _endpoint_url(value: str, field: str) -> str:
    """``value`` as ``scheme://host[:port]`` (https assumed); SettingsError if it is not one."""
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or not _HOST.fullmatch(parts.netloc) \
            or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise SettingsError(f"{field} {value!r} is not an endpoint: write a host name such as "
                            "oss-cn-hangzhou.aliyuncs.com, or http(s)://host:port")
    return f"{parts.scheme}://{parts.netloc}"


def _require(value: str, field: str, what: str, backend: str) -> str:
    text = (value or "").strip()
    if not text:
        raise SettingsError(f"{field} is empty: {what} is needed when media_backend is {backend!r}")
    return text


def cloud_config(settings: Settings, backend: str) -> CloudConfig:
    """The checked configuration of ``backend`` ("oss"/"cos"); SettingsError names the field to fix."""
    if backend == "oss":
        bucket = _require(settings.oss_bucket, "oss_bucket", "the name of the OSS bucket", backend)
        if not _OSS_BUCKET.fullmatch(bucket):
            raise SettingsError(f"oss_bucket {bucket!r} is not an OSS bucket name (3-63 lowercase letters, "
                                "digits and '-', starting and ending with a letter or digit)")
        region = settings.oss_region.strip()
        endpoint = settings.oss_endpoint.strip()
        if endpoint:
            endpoint = _endpoint_url(endpoint, "oss_endpoint")
            if not region:
                m = _ALIYUN_ENDPOINT.fullmatch(urlsplit(endpoint).hostname or "")
                region = m.group(1) if m else ""
        if not region:
            raise SettingsError("oss_region is empty: the bucket's region (e.g. cn-hangzhou) is needed when "
                                "media_backend is 'oss' (requests are signed for it)")
        if not _REGION.fullmatch(region):
            raise SettingsError(f"oss_region {region!r} is not a region name such as cn-hangzhou")
        if not endpoint:
            endpoint = f"https://oss-{region}.aliyuncs.com"
        key_id = _require(settings.oss_access_key_id, "oss_access_key_id", "the AccessKey ID", backend)
        prefix = normalise_prefix(settings.oss_prefix, "oss_prefix")
    elif backend == "cos":
        bucket = _require(settings.cos_bucket, "cos_bucket", "the COS bucket (BucketName-APPID)", backend)
        if not _COS_BUCKET.fullmatch(bucket):
            raise SettingsError(f"cos_bucket {bucket!r} is not a COS bucket: write BucketName-APPID, e.g. "
                                "archive-1250000000 (lowercase letters, digits and '-')")
        region = settings.cos_region.strip()
        endpoint = settings.cos_endpoint.strip()
        if endpoint:
            url = _endpoint_url(endpoint, "cos_endpoint")
            # A bare domain is the endpoint the bucket's virtual host is built on (https); a URL is the
            # address to connect to, with the region's virtual host in the Host header.
            endpoint = url if "://" in endpoint else urlsplit(url).netloc
        if not region and (not endpoint or "://" in endpoint):
            raise SettingsError("cos_region is empty: the bucket's region (e.g. ap-guangzhou) is needed when "
                                "media_backend is 'cos'")
        if region and not _REGION.fullmatch(region):
            raise SettingsError(f"cos_region {region!r} is not a region name such as ap-guangzhou")
        key_id = _require(settings.cos_secret_id, "cos_secret_id", "the SecretId", backend)
        prefix = normalise_prefix(settings.cos_prefix, "cos_prefix")
    else:
        raise SettingsError(f"{backend!r} is not a cloud media backend (one of {', '.join(CLOUD_BACKENDS)})")
    if not _KEY_ID.fullmatch(key_id):
        field = "oss_access_key_id" if backend == "oss" else "cos_secret_id"
        raise SettingsError(f"{field} must be printable characters without spaces")
    return CloudConfig(backend=backend, bucket=bucket, region=region, endpoint=endpoint, prefix=prefix,
                       access_key_id=key_id)


def check_storage_settings(settings: Settings, backend: str) -> None:
    """SettingsError if ``backend`` cannot be used with these settings (the local folder always can)."""
    if backend in CLOUD_BACKENDS:
        cloud_config(settings, backend)

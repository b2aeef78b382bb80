"""The settings sections of the cloud backends, ``storage.oss`` (:class:`OssSettings`) and
``storage.cos`` (:class:`CosSettings`), and the non-secret configuration they check into
(:class:`CloudConfig`). A section names the field to fix (``storage.oss.bucket``,
``storage.cos.region``, ...) when it is not usable; ``Settings.validate`` runs that check for the
backend in use, so a settings file that selects a cloud backend without its bucket is refused with
that message. The backends themselves are declared in cloud_backends.py.

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

from app.core.config.paths import AppPaths
from app.core.config.settings import SettingsError, StorageSection

__all__ = ["CloudConfig", "CosSettings", "OssSettings", "normalise_prefix"]

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
                            "and '/' between folders (no '..', '\\\\' or ':'), at most 200 characters",
                            f"{field} {prefix!r} 不是可用的文件夹名：请使用字母、数字、'-'、'_'、'.'，文件夹之间用 '/' 分隔"
                            "（不能有 '..'、'\\\\' 或 ':'），最多 200 个字符")
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
                            "oss-cn-hangzhou.aliyuncs.com, or http(s)://host:port",
                            f"{field} {value!r} 不是服务地址：请写主机名（如 oss-cn-hangzhou.aliyuncs.com）"
                            "或 http(s)://主机:端口")
    return f"{parts.scheme}://{parts.netloc}"


def _require(value: str, field: str, what: tuple[str, str], backend: str) -> str:
    """``value`` trimmed; SettingsError naming ``field`` and ``what`` (English, Chinese) if it is empty."""
    text = (value or "").strip()
    if not text:
        raise SettingsError(f"{field} is empty: {what[0]} is needed when storage.backend is {backend!r}",
                            f"{field} 为空：storage.backend 为 {backend!r} 时需要{what[1]}")
    return text


def _key_id(section: StorageSection, field: str, what: tuple[str, str]) -> str:
    key_id = _require(getattr(section, field), section.setting(field), what, section.name)
    if not _KEY_ID.fullmatch(key_id):
        raise SettingsError(f"{section.setting(field)} must be printable characters without spaces",
                            f"{section.setting(field)} 必须是不含空格的可打印字符")
    return key_id




@dataclass
class OssSettings(StorageSection):
    """``storage.oss``: an Aliyun OSS bucket; the AccessKey secret is in the keyring."""

    name = "oss"
    endpoint: str = ""  # "" = https://oss-<region>.aliyuncs.com; or http(s)://host[:port] of a gateway
    region: str = ""  # e.g. cn-hangzhou (V4 signatures are scoped to it)
    bucket: str = ""
    prefix: str = ""  # folder inside the bucket for this archive's objects ("" = the bucket's root)
    access_key_id: str = ""

    def missing(self) -> str | None:
        if not self.bucket.strip():
            return "bucket"
        if not self.region.strip() and not self.endpoint.strip():
            return "region"
        return None if self.access_key_id.strip() else "access_key_id"

    def validate(self) -> None:
        self.cloud_config()

    def describe(self, paths: AppPaths) -> str:
        return self.cloud_config().describe()

    def cloud_config(self) -> CloudConfig:
        """The checked configuration; SettingsError names the field to fix."""
        bucket = _require(self.bucket, self.setting("bucket"), ("the name of the OSS bucket", "OSS 存储桶名称"),
                          self.name)
        if not _OSS_BUCKET.fullmatch(bucket):
            raise SettingsError(f"{self.setting('bucket')} {bucket!r} is not an OSS bucket name (3-63 lowercase "
                                "letters, digits and '-', starting and ending with a letter or digit)",
                                f"{self.setting('bucket')} {bucket!r} 不是 OSS 存储桶名称（3-63 个小写字母、数字和 '-'，"
                                "以字母或数字开头和结尾）")
        region = self.region.strip()
        endpoint = self.endpoint.strip()
        if endpoint:
            endpoint = _endpoint_url(endpoint, self.setting("endpoint"))
            if not region:
                m = _ALIYUN_ENDPOINT.fullmatch(urlsplit(endpoint).hostname or "")
                region = m.group(1) if m else ""
        if not region:
            raise SettingsError(f"{self.setting('region')} is empty: the bucket's region (e.g. cn-hangzhou) is "
                                "needed when storage.backend is 'oss' (requests are signed for it)",
                                f"{self.setting('region')} 为空：storage.backend 为 'oss' 时需要存储桶所在地域"
                                "（如 cn-hangzhou；请求按地域签名）")
        if not _REGION.fullmatch(region):
            raise SettingsError(f"{self.setting('region')} {region!r} is not a region name such as cn-hangzhou",
                                f"{self.setting('region')} {region!r} 不是地域名称（如 cn-hangzhou）")
        if not endpoint:
            endpoint = f"https://oss-{region}.aliyuncs.com"
        key_id = _key_id(self, "access_key_id", ("the AccessKey ID", " AccessKey ID"))
        prefix = normalise_prefix(self.prefix, self.setting("prefix"))
        return CloudConfig(backend=self.name, bucket=bucket, region=region, endpoint=endpoint, prefix=prefix,
                           access_key_id=key_id)


@dataclass
class CosSettings(StorageSection):
    """``storage.cos``: a Tencent COS bucket; the SecretKey is in the keyring."""

    name = "cos"
    region: str = ""  # e.g. ap-guangzhou
    bucket: str = ""  # BucketName-APPID, e.g. archive-1250000000
    endpoint: str = ""  # "" = the region's endpoint; or a domain, or http(s)://host[:port] to connect to
    prefix: str = ""
    secret_id: str = ""

    def missing(self) -> str | None:
        if not self.bucket.strip():
            return "bucket"
        if not self.region.strip():
            return "region"
        return None if self.secret_id.strip() else "secret_id"

    def validate(self) -> None:
        self.cloud_config()

    def describe(self, paths: AppPaths) -> str:
        return self.cloud_config().describe()

    def cloud_config(self) -> CloudConfig:
        """The checked configuration; SettingsError names the field to fix."""
        bucket = _require(self.bucket, self.setting("bucket"),
                          ("the COS bucket (BucketName-APPID)", " COS 存储桶（BucketName-APPID）"), self.name)
        if not _COS_BUCKET.fullmatch(bucket):
            raise SettingsError(f"{self.setting('bucket')} {bucket!r} is not a COS bucket: write BucketName-APPID, "
                                "e.g. archive-1250000000 (lowercase letters, digits and '-')",
                                f"{self.setting('bucket')} {bucket!r} 不是 COS 存储桶：请写成 BucketName-APPID，"
                                "如 archive-1250000000（小写字母、数字和 '-'）")
        region = self.region.strip()
        endpoint = self.endpoint.strip()
        if endpoint:
            url = _endpoint_url(endpoint, self.setting("endpoint"))
            # A bare domain is the endpoint the bucket's virtual host is built on (https); a URL is the
            # address to connect to, with the region's virtual host in the Host header.
            endpoint = url if "://" in endpoint else urlsplit(url).netloc
        if not region and (not endpoint or "://" in endpoint):
            raise SettingsError(f"{self.setting('region')} is empty: the bucket's region (e.g. ap-guangzhou) is "
                                "needed when storage.backend is 'cos'",
                                f"{self.setting('region')} 为空：storage.backend 为 'cos' 时需要存储桶所在地域"
                                "（如 ap-guangzhou）")
        if region and not _REGION.fullmatch(region):
            raise SettingsError(f"{self.setting('region')} {region!r} is not a region name such as ap-guangzhou",
                                f"{self.setting('region')} {region!r} 不是地域名称（如 ap-guangzhou）")
        key_id = _key_id(self, "secret_id", ("the SecretId", " SecretId"))
        prefix = normalise_prefix(self.prefix, self.setting("prefix"))
        return CloudConfig(backend=self.name, bucket=bucket, region=region, endpoint=endpoint, prefix=prefix,
                           access_key_id=key_id)

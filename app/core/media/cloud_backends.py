"""The cloud storage backends declared: Aliyun OSS (``oss``) and Tencent COS (``cos``), with their
settings sections (config.py), their forms and how to open them. The SDK modules (oss.py, cos.py)
are imported only when a backend is opened: loading an SDK takes a good part of a second.
"""

from __future__ import annotations

from typing import Any

from app.core.config.paths import AppPaths

from .config import CosSettings, OssSettings
from .registry import FormField, SecretKey, StorageBackend, Text, register_backend
from .storage import MediaStorage

__all__ = ["COS", "OSS"]


def _open_oss(section: OssSettings, paths: AppPaths, secret: str, **options: Any) -> MediaStorage:
    from .oss import OssStorage

    options.setdefault("spool_dir", paths.spool_dir)
    return OssStorage(section.cloud_config(), secret, **options)


def _open_cos(section: CosSettings, paths: AppPaths, secret: str, **options: Any) -> MediaStorage:
    from .cos import CosStorage

    options.setdefault("spool_dir", paths.spool_dir)
    return CosStorage(section.cloud_config(), secret, **options)


_REGION_LABEL = Text("Region:", "地域：")
_ENDPOINT_LABEL = Text("Endpoint:", "访问域名（Endpoint）：")
_PREFIX_FIELD = FormField("prefix", Text("Folder in the bucket:", "桶内目录："),
                          placeholder=Text("Optional, e.g. wecom-archive", "可选，例如 wecom-archive"))
_MISSING_BUCKET = Text("Enter the bucket's name.", "请输入存储桶名称。")
_MISSING_REGION = Text("Enter the bucket's region.", "请输入存储桶所在地域。")

OSS = register_backend(StorageBackend(
    section=OssSettings,
    title=Text("Aliyun OSS bucket", "阿里云 OSS 存储桶"),
    open=_open_oss,
    fields=(
        FormField("region", _REGION_LABEL, placeholder=Text("cn-hangzhou", "cn-hangzhou"), missing=_MISSING_REGION),
        FormField("endpoint", _ENDPOINT_LABEL,
                  placeholder=Text("Default: the region's, e.g. oss-cn-hangzhou.aliyuncs.com",
                                   "默认：地域的访问域名，例如 oss-cn-hangzhou.aliyuncs.com")),
        FormField("bucket", Text("Bucket:", "存储桶（Bucket）："),
                  placeholder=Text("my-archive-bucket", "my-archive-bucket"), missing=_MISSING_BUCKET),
        _PREFIX_FIELD,
        FormField("access_key_id", Text("AccessKey ID:", "AccessKey ID："), placeholder=Text("LTAI5t…", "LTAI5t…"),
                  missing=Text("Enter the AccessKey ID.", "请输入 AccessKey ID。")),
    ),
    secret=SecretKey("access_key_id", Text("AccessKey secret:", "AccessKey Secret：")),
    order=10,
))

COS = register_backend(StorageBackend(
    section=CosSettings,
    title=Text("Tencent COS bucket", "腾讯云 COS 存储桶"),
    open=_open_cos,
    fields=(
        FormField("region", _REGION_LABEL, placeholder=Text("ap-guangzhou", "ap-guangzhou"), missing=_MISSING_REGION),
        FormField("bucket", Text("Bucket (name-APPID):", "存储桶（名称-APPID）："),
                  placeholder=Text("archive-1250000000", "archive-1250000000"), missing=_MISSING_BUCKET),
        FormField("endpoint", _ENDPOINT_LABEL,
                  placeholder=Text("Default: the region's (cos.<region>.myqcloud.com)",
                                   "默认：地域的访问域名（cos.<地域>.myqcloud.com）")),
        _PREFIX_FIELD,
        FormField("secret_id", Text("SecretId:", "SecretId："), placeholder=Text("AKID…", "AKID…"),
                  missing=Text("Enter the SecretId.", "请输入 SecretId。")),
    ),
    secret=SecretKey("secret_id", Text("SecretKey:", "SecretKey：")),
    order=20,
))

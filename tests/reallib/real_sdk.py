"""Tencent's real ``libWeWorkFinanceSdk_C.so`` for tests: downloaded from PyPI, verified, cached.

The library is proprietary: it is never committed. It is published inside the PyPI wheel
``pywecomarchive==0.1.0`` (``pywecomarchive/lib/linux/x86_64/libWeWorkFinanceSdk_C.so``), so this
module downloads that wheel (PyPI's JSON API, then the simple index, then ``pip download``),
checks the wheel's SHA-256, extracts the library, checks its SHA-256 and keeps it under
``${XDG_CACHE_HOME:-~/.cache}/wecom-auditor-tests/`` (written to a temporary file and renamed;
a cached file is hashed again before every use).

:func:`real_sdk_library` is for pytest: when the library cannot be had it calls ``pytest.fail``
if the environment variable ``CI`` is set and ``pytest.skip`` (with the reason) otherwise, and it
skips on anything but Linux x86-64. :func:`fetch_real_sdk` raises :class:`RealSdkUnavailable`
instead, for scripts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

PACKAGE = "pywecomarchive"
VERSION = "0.1.0"
WHEEL = "pywecomarchive-0.1.0-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
WHEEL_SHA256 = "bd3a97d86b0ee1aef1e48842a355e9deb3cfbff21705269d7f6ae053b49ad54b"
MEMBER = "pywecomarchive/lib/linux/x86_64/libWeWorkFinanceSdk_C.so"
LIB_NAME = "libWeWorkFinanceSdk_C.so"
LIB_SHA256 = "79ced4de6b18d5e96a21cd06f325794dc8957f8925120538d56d4ce827d3dfd0"
PYPI_JSON = f"https://pypi.org/pypi/{PACKAGE}/{VERSION}/json"
PYPI_SIMPLE = f"https://pypi.org/simple/{PACKAGE}/"
TIMEOUT = 60  # seconds per HTTP request


class RealSdkUnavailable(RuntimeError):
    """The real library cannot be had here (platform, network, or a hash mismatch)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wecom-auditor-tests"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _http_get(url: str, accept: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "wecom-auditor-tests",
                                               **({"Accept": accept} if accept else {})})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 (fixed https URLs)
        return resp.read()


def _wheel_url_from_json_api() -> str:
    doc = json.loads(_http_get(PYPI_JSON))
    for f in doc.get("urls", []):
        if f.get("filename") == WHEEL:
            return f["url"]
    raise RealSdkUnavailable(f"{PYPI_JSON} lists no {WHEEL}")


def _wheel_url_from_simple_api() -> str:
    doc = json.loads(_http_get(PYPI_SIMPLE, accept="application/vnd.pypi.simple.v1+json"))
    for f in doc.get("files", []):
        if f.get("filename") == WHEEL:
            return f["url"]
    raise RealSdkUnavailable(f"{PYPI_SIMPLE} lists no {WHEEL}")


def _wheel_by_pip() -> bytes:
    with tempfile.TemporaryDirectory(prefix="wecom-sdk-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--disable-pip-version-check",
               "-d", tmp, f"{PACKAGE}=={VERSION}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        path = Path(tmp) / WHEEL
        if proc.returncode != 0 or not path.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RealSdkUnavailable(f"pip download failed: {tail[0]}")
        return path.read_bytes()


def _download_wheel() -> bytes:
    """The wheel's bytes, its SHA-256 checked; tries the JSON API, the simple API, then pip."""
    errors = []
    for how, get in (("PyPI JSON API", lambda: _http_get(_wheel_url_from_json_api())),
                     ("PyPI simple API", lambda: _http_get(_wheel_url_from_simple_api())),
                     ("pip download", _wheel_by_pip)):
        try:
            data = get()
        except (OSError, ValueError, RealSdkUnavailable, subprocess.SubprocessError) as exc:
            errors.append(f"{how}: {exc}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != WHEEL_SHA256:
            errors.append(f"{how}: wheel SHA-256 {digest} is not the expected {WHEEL_SHA256}")
            continue
        return data
    raise RealSdkUnavailable(f"could not download {WHEEL}: " + "; ".join(errors))


def fetch_real_sdk() -> Path:
    """The verified cached library, downloading it if needed. Raises RealSdkUnavailable."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise RealSdkUnavailable(f"Tencent's library in {WHEEL} is for Linux x86-64, "
                                 f"not {sys.platform} {platform.machine()}")
    target = cache_dir() / LIB_SHA256[:16] / LIB_NAME
    if target.exists():
        if _sha256_file(target) == LIB_SHA256:
            return target
        target.unlink()  # corrupted or tampered with: fetch again
    data = _download_wheel()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            lib = wheel.read(MEMBER)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise RealSdkUnavailable(f"{WHEEL} has no readable {MEMBER}: {exc}") from None
    digest = hashlib.sha256(lib).hexdigest()
    if digest != LIB_SHA256:
        raise RealSdkUnavailable(f"{MEMBER} has SHA-256 {digest}, expected {LIB_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".so")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(lib)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def real_sdk_library() -> Path:
    """For tests: the library's path; pytest.fail under CI, pytest.skip elsewhere, if unavailable."""
    import pytest

    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"Tencent's real Finance SDK is tested on Linux x86-64 only (this is {sys.platform} "
                    f"{platform.machine()})")
    try:
        return fetch_real_sdk()
    except RealSdkUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the real Finance SDK is needed in CI but unavailable: {exc}")
        pytest.skip(f"the real Finance SDK is unavailable (needs PyPI once, then cached): {exc}")


if __name__ == "__main__":
    try:
        print(fetch_real_sdk())
    except RealSdkUnavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        sys.exit(1)

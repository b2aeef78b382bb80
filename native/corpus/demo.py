"""The demo corpus: 3,000 messages, seed 1, generated once and reused."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .generate import GENERATOR_VERSION, generate_corpus, looks_like_corpus

DEMO_MESSAGES = 3000
DEMO_SEED = 1
_STALE_PARTIAL_S = 6 * 3600


def _is_complete_demo(path: Path) -> bool:
    try:
        with open(path / "truth.json", encoding="utf-8") as f:
            truth = json.load(f)
    except (OSError, ValueError):
        return False
    params = truth.get("parameters", {})
    return (
        truth.get("complete") is True
        and truth.get("generator_version") == GENERATOR_VERSION
        and truth.get("seed") == DEMO_SEED
        and params.get("messages") == DEMO_MESSAGES
        and params.get("key_versions") == 2
        and params.get("uninstalled_key") is True
        and params.get("media") is True
        and all((path / n).exists() for n in ("corpus.json", "messages.jsonl", "media.json", "keys", "media"))
    )


def ensure_demo_corpus(path: str | os.PathLike) -> Path:
    """Return ``path`` holding the complete demo corpus, generating it first if needed (~10 s).

    Generation goes to a temporary sibling directory that is renamed into place at the end, so an
    interrupted run never leaves something that passes for a complete corpus. An existing corpus
    of another generator version is replaced; a non-empty directory that is not a corpus raises
    FileExistsError. Safe against a concurrent caller doing the same.
    """
    path = Path(path)
    if _is_complete_demo(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}."
    now = time.time()
    for old in path.parent.glob(f"{prefix}*.partial"):
        try:
            if now - old.stat().st_mtime > _STALE_PARTIAL_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    if path.exists() and any(path.iterdir()) and not looks_like_corpus(path):
        raise FileExistsError(f"{path} is not empty and does not hold a corpus")
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=path.parent))
    aside = None
    try:
        generate_corpus(tmp, DEMO_MESSAGES, DEMO_SEED)
        if _is_complete_demo(path):  # a concurrent caller finished first
            shutil.rmtree(tmp, ignore_errors=True)
            return path
        if path.exists():
            aside = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=path.parent))
            os.rmdir(aside)
            os.rename(path, aside)
        try:
            os.rename(tmp, path)
        except OSError:
            if _is_complete_demo(path):
                shutil.rmtree(tmp, ignore_errors=True)
                return path
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    return path

"""Fixtures for the tests of Tencent's real Finance SDK (see README.md beside this file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from real_sdk import real_sdk_library
from standin import StandIn


@pytest.fixture(scope="session")
def real_sdk() -> Path:
    """Path of the verified real libWeWorkFinanceSdk_C.so (downloaded once, cached); skips or fails
    (under CI) when it cannot be had. Load it only in a child process (sdkchild.run_child)."""
    return real_sdk_library()


@pytest.fixture
def standin():
    """A started WeCom stand-in accepting any corpid/secret; stopped after the test."""
    with StandIn() as s:
        yield s

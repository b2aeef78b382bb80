"""The binding's own tests load the SDK simulator in the pytest process, which pytest-qt has
already made a Qt process. The app never does that (app.core.sdk.binding refuses it, and Tencent's
real library would abort); these tests allow it for the simulator, which does not mind when told."""

import pytest


@pytest.fixture(autouse=True)
def allow_the_simulator_beside_qt(monkeypatch):
    from app.core.sdk import binding

    monkeypatch.setattr(binding, "ALLOW_QT_PROCESS", True)
    monkeypatch.setenv("WECOM_SIM_ALLOW_QT", "1")

import pytest
from app.core.actor import Actor
from app.ui.sync import SyncHistoryDialog, SyncRunsModel
import app.ui.sync.history as h

@pytest.mark.parametrize("variant", ["noset", "empty", "full"])
def test_h(qtbot, app_ctx, variant, monkeypatch):
    if variant == "noset":
        monkeypatch.setattr(SyncRunsModel, "set_runs", lambda self, runs, corps=None: None)
    if variant == "empty":
        orig = SyncRunsModel.set_runs
        monkeypatch.setattr(SyncRunsModel, "set_runs", lambda self, runs, corps=None: orig(self, [], {}))
    d = SyncHistoryDialog(app_ctx, Actor.local())
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.runs_loaded, timeout=10_000):
        pass

import pytest
from app.core.actor import Actor
from app.ui.sync import SyncHistoryDialog, SyncRunsModel
from PySide6.QtWidgets import QTableView, QHeaderView

@pytest.mark.parametrize("variant", ["model_only", "view_model", "view_resize"])
def test_h(qtbot, app_ctx, variant):
    runs = app_ctx.archive.sync_runs(Actor.local())
    m = SyncRunsModel()
    if variant != "model_only":
        v = QTableView()
        v.setModel(m)
        if variant == "view_resize":
            v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        qtbot.addWidget(v)
    m.set_runs(runs, {})
    for r in range(m.rowCount()):
        for c in range(m.columnCount()):
            m.index(r, c).data()

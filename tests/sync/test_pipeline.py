"""The Syncer in-process: progress reports, cooperative cancel between batches, and resuming."""

from __future__ import annotations

import pytest
from sync_kit import Truth, archive_state

from app.core.context import AppContext


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from native.corpus import generate_corpus

    path = tmp_path_factory.mktemp("pipe") / "corpus"
    generate_corpus(path, messages=2500, seed=13)
    return path


def test_progress_cancel_and_resume(tmp_path, corpus):
    ctx = AppContext(tmp_path / "data")
    corp, _ = ctx.setup_demo(corpus)
    reports = []
    syncer = ctx.make_syncer(corp, media=False, workers=1)
    # cancel as soon as the first batch has committed
    report = syncer.run(progress=reports.append, cancel=lambda: syncer.progress.fetched >= 1000)
    assert report.outcome == "cancelled"
    assert report.fetched == 1000
    state = archive_state(ctx.db_url)
    assert len(state["messages"]) + len(state["quarantine"]) == 1000
    assert state["checkpoint"] == Truth(corpus).entries[999].seq
    phases = [p.phase for p in reports]
    assert phases[0] in ("starting", "messages") and phases[-1] == "done"
    assert all(a.fetched <= b.fetched for a, b in zip(reports, reports[1:], strict=False))
    assert any(p.rate > 0 for p in reports)

    again = ctx.make_syncer(corp, media=False, workers=2).run()  # worker processes this time
    assert again.outcome == "succeeded" and again.fetched == 1500 and again.duplicates == 0
    assert 0 < again.decrypt_busy <= 1  # the share of the message phase the decrypt hosts worked
    assert archive_state(ctx.db_url)["messages"] == Truth(corpus).archived()
    runs = ctx.archive.sync_runs(ctx_actor())
    assert [r.outcome for r in runs] == ["succeeded", "cancelled"]
    assert runs[1].fetched == 1000 and runs[1].last_seq == state["checkpoint"]
    ctx.close()


def ctx_actor():
    from app.core.actor import Actor

    return Actor.local()

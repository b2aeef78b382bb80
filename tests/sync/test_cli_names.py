"""`import-names`: names for ids, and a clear error for a file of another shape."""

from __future__ import annotations

import json

from sync_kit import run_cli


def test_import_names_and_bad_file(tmp_path):
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=300, seed=3)
    data, db = tmp_path / "data", f"sqlite:///{tmp_path / 'a.db'}"
    run_cli("demo", "--corpus", str(corpus), data_dir=data, db_url=db)
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"directory": {"zhangwei": "张伟", "wmX": "客户甲"},
                                 "groups": {"wrROOM": {"name": "项目群"}}}, ensure_ascii=False))
    out = run_cli("import-names", str(names), data_dir=data, db_url=db).stdout
    assert "3 names imported" in out
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    proc = run_cli("import-names", str(bad), data_dir=data, db_url=db, check=False)
    assert proc.returncode == 1 and "holds a list, not an object" in proc.stderr and "Traceback" not in proc.stderr

"""`pip install .` (not editable) gives a working app: the wheel carries the translations, the PDF
fonts, the simulator's sources and its build stamp (marker ``frozen``: the packaging tier).

The wheel is installed into a throw-away virtual environment; its dependencies come from this
test's environment through a .pth line (so the test needs no download beyond the build backend),
which adds that folder without running its .pth files (the editable install's finder stays off)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from pdf_text import pdf_pages
from stderr_kit import unexpected_stderr

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.frozen


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("pip")
    wheels = base / "wheels"
    # Outside the checkout and without PYTHONPATH: its .egg-info must not pass for an installation.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, timeout=600, cwd=base, env=clean)
    (wheel,) = wheels.glob("wecom_archive_auditor-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, cwd=base, env=clean)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   timeout=300, cwd=base, env=clean)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True, env=clean).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = base / "home"
    home.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE": "pip install passphrase", "QT_QPA_PLATFORM": "offscreen"}
    if os.environ.get("CC"):
        env["CC"] = os.environ["CC"]
    return venv, site, env, base, wheel


def _run(installed, *args: str) -> subprocess.CompletedProcess:
    venv, _, env, base, _ = installed
    proc = subprocess.run([str(venv / "bin" / "wecom-auditor"), *args], capture_output=True, text=True, cwd=base,
                          env=env, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert unexpected_stderr(proc.stderr) == [], proc.stderr
    return proc


def test_the_wheel_holds_the_resources(installed):
    _, _, _, _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("app/resources/i18n/wecom_auditor_zh_CN.qm", "app/resources/fonts/NotoSansSC-Regular.ttf",
                 "app/resources/fonts/NotoSansSC-Regular.OFL.txt", "app/resources/fonts/NotoEmoji-Regular.ttf",
                 "app/resources/build-info.json", "native/include/finance_sdk.h", "native/simulator/sim.c",
                 "app/core/store/migrations/script.py.mako"):
        assert name in names, name
    assert not [n for n in names if n.endswith(".so")]  # no prebuilt binary in a pure wheel
    migrations = {p.name for p in (ROOT / "app" / "core" / "store" / "migrations" / "versions").glob("*.py")}
    assert {n.rsplit("/", 1)[1] for n in names if "/migrations/versions/" in n} == migrations


def test_installed_app_uses_its_own_files(installed):
    venv, site, env, base, _ = installed
    probe = ("import json, app, native.build\n"
             "from app.core.resources import resource_dir\n"
             "from app.core.export.pdf import bundled_fonts\n"
             "text, fallbacks = bundled_fonts()\n"
             "print(json.dumps({'app': app.__file__, 'resources': str(resource_dir()), 'font': text.path,"
             " 'native': native.build.__file__}))\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, cwd=base,
                         env=env, check=True).stdout
    where = json.loads(out)
    for key in ("app", "resources", "font", "native"):
        assert where[key].startswith(str(site)), (key, where[key])
    version = _run(installed, "--version").stdout.splitlines()[0]
    assert "commit unknown" not in version and "dirty" not in version or "+dirty" in version


def test_installed_app_runs_the_demo_and_exports_pdfs(installed):
    _, site, _, base, _ = installed
    _run(installed, "demo", "--messages", "300")
    report = json.loads(_run(installed, "sync", "--json").stdout.strip().splitlines()[-1])
    assert report["outcome"] == "succeeded", report
    assert (site / "native" / "build" / "libWeWorkFinanceSdk_sim.so").is_file()  # built from the package's sources
    out = base / "pkg"
    _run(installed, "export", "--out", str(out), "--query", "合同")
    _run(installed, "verify", str(out))
    pdfs = list((out / "data" / "transcripts").glob("*.pdf"))
    assert pdfs and "合同" in "".join(pdf_pages(pdfs[0]))

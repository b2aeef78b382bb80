"""The frozen bundle as a user gets it (marker ``frozen``: `make package-test`, CI's packaging step).

The bundle (dist/wecom-auditor, built by packaging/build.py unless WECOM_AUDITOR_BUNDLE names one)
is copied outside the source tree and run from there with a fresh HOME, another working folder, no
virtual environment and no keyring: --version, demo, sync (through the bundle's --child-process
SDK hosts: the simulator aborts a process that has Qt), search, export with PDFs + verify, the
window offscreen in Chinese with Ctrl+C, and Tencent's real library checked by `corps test` against
the WeCom stand-in. Every command's stderr must be empty (or known harmless lines); nothing may be
written inside the bundle. Size and start-up times go to build/bundle-report.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from pdf_text import pdf_pages
from stderr_kit import unexpected_stderr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "reallib"))  # the real library's download and the stand-in

pytestmark = pytest.mark.frozen
REPORT = ROOT / "build" / "bundle-report.txt"
PASSPHRASE = "frozen smoke passphrase"


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """(executable, copy folder, a user's environment) of the bundle copied to a temporary 'opt'."""
    built = os.environ.get("WECOM_AUDITOR_BUNDLE")
    source = Path(built) if built else ROOT / "dist" / "wecom-auditor"
    if not built:
        subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py")], check=True, cwd=ROOT, timeout=1800)
    assert (source / "wecom-auditor").is_file(), f"no bundle at {source}"
    base = tmp_path_factory.mktemp("frozen")
    target = base / "opt" / "wecom-auditor"
    shutil.copytree(source, target, symlinks=True)
    for path in [target, *target.rglob("*")]:  # read-only as an installed copy would be
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o555)
    home, cwd = base / "home", base / "cwd"
    home.mkdir()
    cwd.mkdir()
    # No LANG or LC_*: the C locale of a minimal system or a service (the bundle must stay quiet).
    keep = ("PATH", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CI")
    env = {k: v for k, v in os.environ.items() if k in keep}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p != venv_bin)
    env.update(HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE=PASSPHRASE)
    snapshot = _tree(target)
    yield target / "wecom-auditor", target, env, cwd
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    assert _tree(target) == snapshot, "the bundle wrote into its own folder"


def run(bundle, *args: str, env: dict | None = None, ok_stderr: tuple[str, ...] = (), check: bool = True,
        timeout: float = 600) -> subprocess.CompletedProcess:
    exe, _, base_env, cwd = bundle
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          env={**base_env, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert unexpected_stderr(proc.stderr, ok_stderr) == [], f"{args} printed on stderr:\n{proc.stderr}"
    return proc


def _report(line: str) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    print(line)


def test_version_and_cold_start(bundle):
    exe, folder, _, _ = bundle
    REPORT.unlink(missing_ok=True)
    started = time.monotonic()
    proc = run(bundle, "--version")
    cold = time.monotonic() - started
    started = time.monotonic()
    run(bundle, "--help")
    warm = time.monotonic() - started
    first = proc.stdout.splitlines()[0]
    assert "PyInstaller bundle" in first and "commit unknown" not in first, proc.stdout
    assert proc.stdout.splitlines()[1].startswith("Qt 6.")
    archives = list((ROOT / "dist").glob("wecom-auditor-*.tar.gz"))
    _report(f"version: {first}")
    _report(f"bundle size: {_size(folder) / 2**20:.0f} MiB in {sum(1 for _ in folder.rglob('*'))} files"
            + (f"; archive {archives[0].name}: {archives[0].stat().st_size / 2**20:.0f} MiB" if archives else ""))
    _report(f"cold start (--version, first run of the copy): {cold:.2f} s; --help after it: {warm:.2f} s")
    assert (folder / "licenses" / "README.txt").is_file()
    assert (folder / "share" / "applications" / "wecom-auditor.desktop").is_file()


def test_demo_sync_search_export_verify(bundle):
    _, _, env, cwd = bundle
    out = run(bundle, "demo", "--messages", "300").stdout
    data = Path(env["HOME"]) / ".local" / "share" / "wecom-auditor"
    assert str(data) in out and (data / "archive.db").is_file()  # the platform's user data folder
    report = json.loads(run(bundle, "sync", "--json").stdout.strip().splitlines()[-1])
    assert report["outcome"] == "succeeded" and report["stored"] > 250, report
    hits = [json.loads(line) for line in run(bundle, "search", "合同", "--json").stdout.splitlines() if line]
    assert hits and all("合同" in h["text"] for h in hits)
    package = cwd / "evidence.zip"
    run(bundle, "export", "--out", str(package), "--query", "合同")
    verified = run(bundle, "verify", str(package))
    assert "OK:" in verified.stdout
    with zipfile.ZipFile(package) as z:
        pdfs = [n for n in z.namelist() if "/data/transcripts/" in n and n.endswith(".pdf")]
        assert pdfs
        z.extract(pdfs[0], cwd / "pdf")
    text = "".join("".join(pdf_pages(cwd / "pdf" / pdfs[0])).split())
    assert "会话记录Transcript" in text and "合同" in text


def test_children_use_the_bundles_libraries(bundle, tmp_path):
    """The SDK host children load the simulator with the bundle's libcrypto: the system's is hidden
    (an empty file bound over it in a mount namespace), as on a computer without libssl3."""
    if not _can_hide_fonts():
        pytest.skip("needs root and unshare(1)")
    import ctypes.util

    if ctypes.util.find_library("crypto") is None:
        pytest.skip("no system libcrypto to hide")
    system = [p for p in (Path("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"), Path("/lib/x86_64-linux-gnu/libcrypto.so.3"))
              if p.exists()]
    if not system:
        pytest.skip("libcrypto.so.3 is not where this test looks")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    binds = " && ".join(f"mount --bind {empty} {p.resolve()}" for p in system[:1])
    exe, _, env, cwd = bundle
    data = tmp_path / "data"
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", binds + ' && exec "$@"', "sh", str(exe)]
    for args in (("demo", "--messages", "60", "--data-dir", str(data)), ("sync", "--json", "--data-dir", str(data))):
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert json.loads(proc.stdout.strip().splitlines()[-1])["outcome"] == "succeeded"


def _log_text(home: Path) -> str:
    return "".join(p.read_text("utf-8", "replace") for p in home.rglob("*.log"))


def _can_hide_fonts() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and \
        subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.parametrize("fonts", ["installed", "none"])
def test_window_in_chinese_and_ctrl_c(bundle, fonts):
    """The window offscreen in Chinese for a few seconds, then Ctrl+C; also with /usr/share/fonts
    hidden (a mount namespace): the shipped font is then the only one (Qt crashes without any)."""
    exe, folder, env, cwd = bundle
    prefix: list[str] = []
    if fonts == "none":
        if not _can_hide_fonts():
            pytest.skip("needs root and unshare(1) to hide /usr/share/fonts")
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                  'mount -t tmpfs -o size=1m none /usr/share/fonts && exec "$@"', "sh"]
    home = Path(env["HOME"])
    if not (home / ".local" / "share" / "wecom-auditor" / "archive.db").is_file():
        run(bundle, "demo", "--messages", "60")
    settings_file = home / ".config" / "wecom-auditor" / "settings.json"
    settings = json.loads(settings_file.read_text("utf-8"))
    settings["language"] = "zh_CN"  # as Settings > Language 中文 (no zh_CN locale need be installed)
    settings_file.write_text(json.dumps(settings), "utf-8")
    started = time.monotonic()
    log_before = len(_log_text(home))
    proc = subprocess.Popen([*prefix, str(exe)], cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**env, "QT_QPA_PLATFORM": "offscreen"})
    try:
        deadline = time.monotonic() + 60
        while "user interface in zh_CN" not in _log_text(home)[log_before:]:
            assert proc.poll() is None, f"the window exited with {proc.returncode}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the window did not start within 60 s"
            time.sleep(0.1)
        to_window = time.monotonic() - started
        time.sleep(3)  # a few seconds of the window: lazy loading, the job runner
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert unexpected_stderr(err) == [] and out == "", err
    log = _log_text(home)[log_before:]
    assert str(folder / "_internal" / "resources" / "i18n" / "wecom_auditor_zh_CN.qm") in log
    assert "Traceback" not in log and "interrupted (Ctrl+C)" in log
    _report(f"window start (to the translated UI, offscreen, fonts {fonts}): {to_window:.2f} s")


def test_real_library_from_the_bundle(bundle, tmp_path):
    """Tencent's library (not shipped: downloaded from PyPI for the test, as a user points at
    theirs) is loaded by the bundle's SDK host children: `corps test` goes through every step
    against the loopback WeCom stand-in."""
    from real_sdk import real_sdk_library
    from standin import StandIn

    from native.corpus import generate_corpus

    real = real_sdk_library()
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=20, seed=3, media_pool=4)
    conf = json.loads((corpus / "corpus.json").read_text())
    data = tmp_path / "real-data"
    cid = conf["corpid"].upper()
    secrets = {f"WECOM_AUDITOR_CORP_SECRET_{cid}": conf["secret"]}
    for version, entry in conf["keys"].items():
        if entry.get("install", True):
            secrets[f"WECOM_AUDITOR_PRIVATE_KEY_{cid}_V{version}"] = "@" + str(corpus / entry["private"])
    with StandIn() as s:
        s.serve_corpus(corpus)
        run(bundle, "demo", "--corpus", str(corpus), "--data-dir", str(data))
        run(bundle, "corps", "set", conf["corpid"], "--library", str(real), "--proxy", s.proxy_url, "--timeout", "10",
            "--ca-file", str(s.ca_pem), "--data-dir", str(data))
        proc = run(bundle, "corps", "test", "--json", "--data-dir", str(data), env=secrets)
    steps = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [(c["step"], c["ok"]) for c in steps] == [("library", True), ("keys", True), ("access", True),
                                                     ("archive", True)], proc.stdout

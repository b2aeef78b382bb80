"""verify on packages made to hurt it: tag-file bombs, links, loops, FIFOs, zip bombs, lying and
unsupported zip entries, hostile names. Each is a named problem, within bounded memory and time,
never an exception. The packages are crafted here (hostile_kit), without an archive."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hostile_kit import (
    PAYLOAD,
    RawEntry,
    deflate,
    deflated,
    raw_zip,
    repeated_deflate,
    stored,
    write_bag,
    zip_folder,
)

from app.core.export.verify import Limits, problem_in_chinese, verify_package

MANIFEST_LINE = b"0" * 64 + b"  data/messages/" + b"a" * 32 + b"/" + b"b" * 16 + b".json\n"


def _check(path, *, expect: str, limits: Limits | None = None, max_mib: float = 16, max_seconds: float = 5):
    """verify ``path``: not OK, a problem starting with ``expect``, peak Python memory and time bounded."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = verify_package(path, **({"limits": limits} if limits else {}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.monotonic() - started
    assert not report.ok
    assert any(p.startswith(expect) for p in report.problems), report.problems
    for problem in report.problems:  # each of a kind a Chinese window says in Chinese
        assert problem_in_chinese(problem) != problem, problem
    assert peak < max_mib * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert seconds < max_seconds, f"{seconds:.1f} s"
    return report


@pytest.fixture
def bag(tmp_path) -> Path:
    write_bag(tmp_path / "bag")
    return tmp_path / "bag"


def _bag_zip_entries(root: Path, name: str = "bag") -> list[RawEntry]:
    return [deflated(f"{name}/{p.relative_to(root).as_posix()}", p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()]


def test_crafted_bag_verifies_as_folder_and_zip(bag, tmp_path):
    report = verify_package(bag)
    assert report.ok, report.problems
    assert report.files_checked == len(PAYLOAD) + 5
    assert verify_package(zip_folder(bag, tmp_path / "b.zip")).ok
    raw = tmp_path / "raw.zip"
    raw.write_bytes(raw_zip(_bag_zip_entries(bag)))
    assert verify_package(raw).ok, verify_package(raw).problems


# ------------------------------------------------------------------------------- links and special files

def test_links_inside_a_folder_are_never_followed(bag, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the package")
    media = bag / "data" / "media"
    os.symlink(outside / "secret.txt", media / "to-file.jpg")
    os.symlink(outside, bag / "data" / "to-folder")
    os.symlink("loop", media / "loop")  # a link to itself
    os.symlink("a", media / "b")
    os.symlink("b", media / "a")  # a cycle
    os.symlink(tmp_path / "nothing-here", media / "dangling")
    problems = verify_package(bag).problems
    for rel in ("data/media/to-file.jpg", "data/to-folder", "data/media/loop", "data/media/a", "data/media/b",
                "data/media/dangling"):
        assert any(p.startswith(f"symbolic link: {rel} ") for p in problems), (rel, problems)
    assert not any("to-folder/secret.txt" in p for p in problems)  # the linked folder was not entered


def test_a_listed_file_replaced_by_a_link_is_reported_not_read(bag, tmp_path):
    rel = next(r for r in PAYLOAD if r.endswith(".json"))
    target = bag / rel
    copy = tmp_path / "copy.json"
    copy.write_bytes(target.read_bytes())  # the link points at identical bytes: still not OK
    target.unlink()
    os.symlink(copy, target)
    problems = verify_package(bag).problems
    assert any(p.startswith(f"symbolic link: {rel}") for p in problems), problems
    assert any(p.startswith(f"missing file: {rel}") for p in problems), problems


def test_linked_data_folder_and_linked_tag_file(bag, tmp_path):
    # manifest-sha256.txt -> /dev/zero would never end if it were read
    (bag / "manifest-sha256.txt").unlink()
    os.symlink("/dev/zero", bag / "manifest-sha256.txt")
    real = tmp_path / "real-data"
    (bag / "data").rename(real)
    os.symlink(real, bag / "data")
    report = _check(bag, expect="symbolic link: data ")
    assert any(p.startswith("symbolic link: manifest-sha256.txt") for p in report.problems)
    assert any(p.startswith("missing file: manifest-sha256.txt") for p in report.problems)


def test_fifo_and_devices_are_reported_without_blocking(bag):
    os.mkfifo(bag / "data" / "media" / "pipe.jpg")
    (bag / "bag-info.txt").unlink()
    os.mkfifo(bag / "bag-info.txt")  # opening a FIFO to read would wait for a writer forever
    report = _check(bag, expect="not a regular file: data/media/pipe.jpg is a FIFO")
    assert any(p.startswith("not a regular file: bag-info.txt is a FIFO") for p in report.problems)
    try:
        os.mknod(bag / "data" / "null", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        return  # not root: no device to make
    _check(bag, expect="not a regular file: data/null is a character device")


def test_a_package_path_that_is_a_link_is_not_checked(bag, tmp_path):
    link = tmp_path / "link-to-bag"
    os.symlink(bag, link)
    report = _check(link, expect=f"symbolic link: {link} is a link (to {bag})")
    assert len(report.problems) == 1 and "nothing was checked" in report.problems[0]
    zipped = zip_folder(bag, tmp_path / "b.zip")
    os.symlink(zipped, tmp_path / "link.zip")
    _check(tmp_path / "link.zip", expect="symbolic link:")
    assert verify_package(bag).ok and verify_package(zipped).ok  # by their own paths


# ------------------------------------------------------------------------------- tag-file bombs

@pytest.mark.parametrize("name", ["manifest-sha256.txt", "bag-info.txt", "tagmanifest-sha256.txt",
                                  "signature-ed25519.sig", "export-public-key.pem", "bagit.txt"])
def test_huge_tag_files_in_a_folder_are_refused_unread(bag, name):
    path = bag / name
    with open(path, "r+b") as f:  # sparse: 600 MB that take no disk
        f.truncate(600 * 2**20)
    _check(bag, expect=f"file too large: {name} is {600 * 2**20} bytes")


def test_manifest_with_one_endless_line(bag):
    with open(bag / "manifest-sha256.txt", "ab") as f:
        f.write(b"0" * 64 + b"  data/" + b"x" * (20 * 2**20))  # 20 MB without a line break
    _check(bag, expect="line too long: manifest-sha256.txt line 6")


def test_manifest_listing_far_more_files_than_there_are(bag):
    with open(bag / "manifest-sha256.txt", "ab") as f:
        for i in range(200_000):
            f.write(b"0" * 64 + b"  data/messages/" + str(i).encode() + b".json\n")
    report = _check(bag, expect="too many entries: manifest-sha256.txt lists more files than the package holds")
    assert len(report.problems) <= 502  # problems are capped, with a count of the rest


def _manifest_bomb(bag: Path, target: Path, mib: int) -> int:
    """A zip of ``bag`` whose manifest inflates to ``mib`` MiB of manifest lines; its declared size."""
    entries = [e for e in _bag_zip_entries(bag) if not e.name.endswith(b"/manifest-sha256.txt")]
    block = MANIFEST_LINE * (2**20 // len(MANIFEST_LINE))
    data, crc = repeated_deflate(block, mib)
    entries.append(RawEntry(b"bag/manifest-sha256.txt", data, method=8, size=len(block) * mib, crc=crc))
    target.write_bytes(raw_zip(entries))
    return len(block) * mib


RELAXED = Limits(max_ratio=10**6, bomb_floor=2**40)  # no zip-bomb check: the next defence must hold


def test_zip_holding_a_600_mb_manifest(bag, tmp_path):
    """The issue's case: a small zip whose manifest inflates to 600 MB. A zip bomb by its declared
    sizes; without that check, too large a tag file by its declared size: nothing is inflated."""
    bomb = tmp_path / "bomb.zip"
    size = _manifest_bomb(bag, bomb, 600)
    assert bomb.stat().st_size < 3 * 2**20
    _check(bomb, expect="zip bomb: the entries declare")
    _check(bomb, expect=f"file too large: manifest-sha256.txt is {size} bytes", limits=RELAXED)


def test_zip_manifest_below_the_size_limit_stops_at_the_line_count(bag, tmp_path):
    bomb = tmp_path / "bomb.zip"
    _manifest_bomb(bag, bomb, 300)
    _check(bomb, expect="zip bomb:")
    report = _check(bomb, expect="too many entries: manifest-sha256.txt lists more files", limits=RELAXED)
    assert any(p.startswith("not checked: the payload files were not hashed") for p in report.problems)


def test_verify_of_the_600_mb_manifest_zip_in_a_fresh_process_stays_small(bag, tmp_path):
    """Peak RSS of a whole verify process (the interpreter and its imports included), against the
    same process that only imports the verifier."""
    bomb = tmp_path / "bomb.zip"
    _manifest_bomb(bag, bomb, 600)
    code = ("import resource, sys\nfrom app.core.export.verify import Limits, problem_in_chinese, verify_package\n"
            "r = verify_package(sys.argv[1], limits=Limits(max_ratio=10**6, bomb_floor=2**40))\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nprint(' | '.join(r.problems))\n")
    baseline = ("import resource\nimport app.core.export.verify\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, env=env,
                         timeout=60, check=True).stdout.splitlines()
    base = int(subprocess.run([sys.executable, "-c", baseline], capture_output=True, text=True, env=env,
                              timeout=60, check=True).stdout)
    peak_kib = int(out[0])
    assert "file too large: manifest-sha256.txt" in out[1]
    assert peak_kib - base < 20 * 1024, f"verify added {(peak_kib - base) / 1024:.0f} MiB to {base / 1024:.0f} MiB"


# ------------------------------------------------------------------------------- zip bombs

def test_zip_bomb_by_ratio_is_not_inflated(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    data, crc = repeated_deflate(b"\0" * 2**20, 400)
    entries.append(RawEntry(b"bag/data/media/" + b"b" * 64 + b".bmp", data, method=8, size=400 * 2**20, crc=crc))
    bomb = tmp_path / "ratio.zip"
    bomb.write_bytes(raw_zip(entries))
    _check(bomb, expect="zip bomb: the entries declare")


def test_zip_with_a_huge_declared_size(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    entries.append(RawEntry(b"bag/data/media/huge.mp4", deflate(b"tiny"), method=8, size=10 * 2**40, plain=b"tiny"))
    bomb = tmp_path / "declared.zip"
    bomb.write_bytes(raw_zip(entries))
    _check(bomb, expect="zip bomb: the entries declare 10995116")


def test_zip_declaring_millions_of_entries(tmp_path):
    path = tmp_path / "count.zip"
    path.write_bytes(raw_zip([stored("bag/bagit.txt", b"x")], eocd_count=60_000))
    _check(path, expect="bad zip: the central directory is shorter than the entries it declares")
    path.write_bytes(raw_zip([stored("bag/bagit.txt", b"x")], eocd_count=5_000_000))  # zip64 end record
    _check(path, expect="too many entries: the zip declares 5000000 entries")
    many = tmp_path / "many.zip"
    many.write_bytes(raw_zip([stored(f"bag/data/{i}", b"") for i in range(3000)]))
    _check(many, expect="too many entries: the zip declares 3000 entries", limits=Limits(max_files=1000))


def test_overlapping_entries_are_a_zip_bomb(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    shared = deflate(b"\0" * 2**20)
    first = RawEntry(b"bag/data/media/one.bin", shared, method=8, plain=b"\0" * 2**20)
    second = RawEntry(b"bag/data/media/two.bin", b"", method=8, size=2**20, plain=b"\0" * 2**20, offset=0)
    path = tmp_path / "overlap.zip"
    body = raw_zip([first, *entries, second])
    path.write_bytes(body)
    _check(path, expect="overlapping zip entries:")


def test_nested_zips_are_hashed_not_opened(tmp_path):
    zeros, crc = repeated_deflate(b"\0" * 2**20, 200)
    inner_bomb = raw_zip([RawEntry(b"zeros", zeros, method=8, size=200 * 2**20, crc=crc)])
    payload = {**PAYLOAD, "data/media/" + "c" * 64 + ".zip": inner_bomb}
    write_bag(tmp_path / "bag", payload)
    outer = zip_folder(tmp_path / "bag", tmp_path / "outer.zip")
    started = time.monotonic()
    report = verify_package(outer)
    assert report.ok, report.problems
    assert time.monotonic() - started < 2
    # a zip whose only content is another zip of the package is not a package
    wrapped = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(wrapped, "w") as zf:
        zf.write(outer, "outer.zip")
    _check(wrapped, expect="bad zip: the bag's files must all be inside one folder of the zip")


# ------------------------------------------------------------------------------- entries that lie or that we do not read

@pytest.mark.parametrize("method, label", [(12, "bzip2"), (14, "LZMA"), (9, "deflate64"), (93, "zstd"), (77, "unknown")])
def test_unsupported_compression_is_named(bag, tmp_path, method, label):
    entries = _bag_zip_entries(bag)
    victim = next(e for e in entries if e.name.endswith(b".json"))
    victim.method = method
    path = tmp_path / "method.zip"
    path.write_bytes(raw_zip(entries))
    rel = victim.name.decode().removeprefix("bag/")
    report = _check(path, expect=f"unsupported compression: bag/{rel} uses method {method} ({label})")
    assert any(p.startswith(f"missing file: {rel}") for p in report.problems)


def test_encrypted_entries_are_named(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    victim = next(e for e in entries if e.name.endswith(b"bag-info.txt"))
    victim.flags |= 0x1
    path = tmp_path / "encrypted.zip"
    path.write_bytes(raw_zip(entries))
    _check(path, expect="encrypted zip entry: bag/bag-info.txt")


@pytest.mark.parametrize("name, why", [
    ("/etc/passwd", "an absolute path"), ("bag/../../etc/passwd", "a '..' component"),
    ("bag\\data\\x.json", "a backslash"), ("C:/Windows/x", "a drive letter"), ("bag/data//x", "an empty or"),
    ("bag/data/\u202egpj.exe", "control or invisible characters"), ("bag/data/a\nb", "control or invisible"),
])
def test_unsafe_member_names_are_named(bag, tmp_path, name, why):
    entries = [*_bag_zip_entries(bag), stored(name, b"x")]
    path = tmp_path / "names.zip"
    path.write_bytes(raw_zip(entries))
    report = _check(path, expect="unsafe name in the zip: ")
    line = next(p for p in report.problems if p.startswith("unsafe name"))
    assert why in line
    assert "\u202e" not in line and "\n" not in line  # shown escaped


def test_duplicate_names_are_named(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    json_entry = next(e for e in entries if e.name.endswith(b".json"))
    twin = RawEntry(json_entry.name, deflate(b"{}"), method=8, plain=b"{}")
    path = tmp_path / "dup.zip"
    path.write_bytes(raw_zip([*entries, twin]))
    _check(path, expect=f"duplicate name in the zip: {json_entry.name.decode()} appears more than once")
    upper = RawEntry(json_entry.name.upper(), deflate(b"{}"), method=8, plain=b"{}")
    path.write_bytes(raw_zip([*entries, upper]))
    _check(path, expect="duplicate name in the zip: ")


def test_symlink_entries_in_a_zip_are_named(bag, tmp_path):
    entries = [*_bag_zip_entries(bag), RawEntry(b"bag/data/media/etc", b"/etc", external_attr=0o120777 << 16)]
    path = tmp_path / "link.zip"
    path.write_bytes(raw_zip(entries))
    _check(path, expect="not a regular file: bag/data/media/etc is a symbolic link in the zip")


def test_entries_whose_data_lies_about_its_size_or_crc(bag, tmp_path):
    entries = _bag_zip_entries(bag)
    victim = next(e for e in entries if e.name.endswith(b"/0123456789abcdef.json"))
    victim.crc = 12345
    path = tmp_path / "crc.zip"
    path.write_bytes(raw_zip(entries))
    _check(path, expect=f"damaged zip entry: {victim.name.decode()} (CRC-32 mismatch)")
    victim.crc = None
    victim.size = 5  # inflates to more than declared
    path.write_bytes(raw_zip(entries))
    _check(path, expect=f"damaged zip entry: {victim.name.decode()} (expands beyond its declared 5 bytes)")
    victim.size = None
    victim.local_name = victim.name.replace(b".json", b".jsox")
    path.write_bytes(raw_zip(entries))
    _check(path, expect=f"damaged zip entry: {victim.name.decode()} (its local header names another file)")


@pytest.mark.parametrize("content", [b"", b"PK\x05\x06", b"not a zip at all", b"PK\x03\x04" + b"\0" * 100])
def test_things_that_are_not_zips(tmp_path, content):
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    report = verify_package(path)
    assert not report.ok and len(report.problems) == 1
    assert report.problems[0].startswith(("not a package folder or zip", "bad zip"))


def test_problems_name_hostile_files_escaped(bag):
    (bag / "data" / "media" / "\u202egpj.exe").write_bytes(b"MZ")
    (bag / "data" / "x\u200b").write_bytes(b"")
    problems = verify_package(bag).problems
    assert any("data/media/⟨U+202E⟩gpj.exe" in p for p in problems), problems
    assert not any(set(p) & {"\u202e", "\u200b", "\n", "\r"} for p in problems)


def test_problem_list_is_capped(bag):
    for i in range(120):
        (bag / "data" / f"extra-{i}").write_bytes(b"")
    report = verify_package(bag, limits=Limits(max_problems=50))
    assert len(report.problems) == 51 and report.problems[-1] == "… and 71 more problem(s), not listed"


def test_an_entry_needing_a_newer_zip_version_is_a_problem(bag, tmp_path):
    """Found by the fuzzer below: a central directory entry saying it needs zip 6.4 to extract, which
    Python's zipfile (like other unzip tools) refuses; verify read it and called the package OK."""
    data = bytearray(raw_zip(_bag_zip_entries(bag)))
    data[data.index(b"PK\x01\x02") + 6] = 64  # "version needed to extract" of the first entry
    target = tmp_path / "v64.zip"
    target.write_bytes(bytes(data))
    report = verify_package(target)
    assert not report.ok
    assert any("needs zip version 6.4 to extract" in p for p in report.problems)


# ------------------------------------------------------------------------------- a fuzzer

def test_fuzzed_zips_never_raise(bag, tmp_path):
    """Random damage to a valid zip package (flipped bytes, cut, spliced): a report every time."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    base = raw_zip(_bag_zip_entries(bag))
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        signed = {n: zf.read(n) for n in zf.namelist()}
    target = tmp_path / "fuzz.zip"

    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=8),
                      st.integers(0, len(base)), st.binary(max_size=64))
    def check(flips, cut, splice):
        data = bytearray(base)
        for pos, value in flips:
            data[pos] = value
        data = bytes(data[:cut]) + splice + bytes(data[cut:]) if splice else bytes(data)
        target.write_bytes(data)
        report = verify_package(target)
        assert report.ok == (not report.problems)
        assert all("\n" not in p for p in report.problems)
        if report.ok:  # verify saw no change: a standard unzip must then give the signed content
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                assert {n: zf.read(n) for n in zf.namelist()} == signed

    check()


def test_fuzzed_manifests_never_raise(bag):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    manifest = bag / "manifest-sha256.txt"
    original = manifest.read_bytes()

    @hypothesis.settings(max_examples=150, deadline=None, database=None)
    @hypothesis.given(st.binary(max_size=400) | st.text(max_size=200).map(lambda s: s.encode("utf-8", "replace")))
    def check(tail):
        manifest.write_bytes(original + tail)
        report = verify_package(bag)
        assert report.ok == (not report.problems)
        assert all("\n" not in p for p in report.problems)

    check()


def test_a_folder_with_too_many_files_stops_before_hashing(bag):
    extra = bag / "data" / "many"
    extra.mkdir()
    for i in range(120):
        (extra / str(i)).write_bytes(b"")
    report = _check(bag, expect="too many files: the package holds more than 100 files", limits=Limits(max_files=100))
    assert report.files_checked == 0


def test_deeply_nested_folders_and_long_names(bag):
    deep = bag / "data"
    for _ in range(60):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "x").write_bytes(b"x")
    _check(bag, expect="unsafe name in the package: data/d/d/", limits=Limits(max_name=64))
    _check(bag, expect="extra file: data/d/d/")


def test_every_kind_of_problem_has_its_chinese_name():
    """The kinds the checker can write (the "kind: " that starts a problem's sentence in its source)
    are all in PROBLEM_KINDS: none reaches a Chinese window in English."""
    import ast
    import re
    from pathlib import Path

    from app.core.export.verify import PROBLEM_KINDS

    root = Path(__file__).resolve().parents[2] / "app" / "core" / "export"
    found = set()
    for name in ("verify.py", "zipread.py", "signing.py"):
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            first = node.value if isinstance(node, ast.Constant) else (
                node.values[0].value if isinstance(node, ast.JoinedStr) and node.values
                and isinstance(node.values[0], ast.Constant) else None)
            m = re.match(r"([a-z][a-zA-Z .-]*?): ", first) if isinstance(first, str) else None
            if m:
                found.add(m.group(1))
    assert len(found) > 30
    assert found - set(PROBLEM_KINDS) == set()
    assert {"unreadable file", "unreadable folder"} <= set(PROBLEM_KINDS)  # f"unreadable {'folder' if …}: …"
    assert problem_in_chinese("… and 7 more problem(s), not listed") == "……另有 7 个问题未列出"

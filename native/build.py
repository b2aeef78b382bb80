"""Build the WeCom Finance SDK simulator (native/simulator/) into a shared library.

    python3 native/build.py              build native/build/libWeWorkFinanceSdk_sim.so if stale
    python3 native/build.py --force      rebuild unconditionally
    python3 native/build.py --smoke      also build and run the C smoke test (tests/sim_smoke.c)
    python3 native/build.py --valgrind   same, under valgrind --leak-check=full

As a module (``from native.build import build_simulator, simulator_path``), build_simulator() is
cheap when the library is up to date, so test fixtures can call it on every run.

Needs a C compiler (``cc``, or $CC) and the OpenSSL headers: Debian packages gcc and libssl-dev.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NATIVE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = NATIVE_DIR / "simulator"
INCLUDE_DIR = NATIVE_DIR / "include"
BUILD_DIR = NATIVE_DIR / "build"
LIBRARY_NAME = "libWeWorkFinanceSdk_sim.so"
SMOKE_SOURCE = SOURCE_DIR / "tests" / "sim_smoke.c"
SMOKE_BINARY = BUILD_DIR / "sim_smoke"

COMMON_FLAGS = [
    "-std=c11",
    "-D_POSIX_C_SOURCE=200809L",
    "-pthread",
    "-Wall",
    "-Wextra",
    "-Werror",
    f"-I{INCLUDE_DIR}",
    f"-I{SOURCE_DIR}",
]
LIBRARY_FLAGS = ["-O2", "-fPIC", "-shared", "-fvisibility=hidden"]
MISSING_TOOLS = (
    "cannot build the WeCom SDK simulator: {what} not found "
    "(on Debian/Ubuntu: apt-get install gcc libssl-dev)"
)


class BuildError(RuntimeError):
    """The simulator could not be built; str() is a one-line explanation."""


def simulator_path() -> Path:
    """Where the built simulator library lives (it may not exist yet)."""
    return BUILD_DIR / LIBRARY_NAME


def _library_sources() -> list[Path]:
    return sorted(SOURCE_DIR.glob("*.c"))


def _dependencies() -> list[Path]:
    """Everything whose change makes the library stale, this script included (it holds the flags)."""
    return [*_library_sources(), *SOURCE_DIR.glob("*.h"), INCLUDE_DIR / "finance_sdk.h", Path(__file__)]


def _is_stale(output: Path, inputs: list[Path]) -> bool:
    if not output.exists():
        return True
    built = output.stat().st_mtime
    return any(path.stat().st_mtime > built for path in inputs)


def _compiler() -> list[str]:
    command = shlex.split(os.environ.get("CC", "cc"))
    if not command or shutil.which(command[0]) is None:
        raise BuildError(MISSING_TOOLS.format(what=f"C compiler {command[0] if command else '(empty $CC)'!r}"))
    return command


def _check_openssl(cc: list[str]) -> None:
    """Fail with a clear message when the OpenSSL headers are missing (instead of a compile error)."""
    probe = subprocess.run(
        [*cc, "-E", "-x", "c", "-", "-o", os.devnull],
        input="#include <openssl/evp.h>\n",
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise BuildError(MISSING_TOOLS.format(what="OpenSSL headers (openssl/evp.h)"))


def _run_compiler(command: list[str], output: Path) -> None:
    """Compile into a temporary file and rename it into place, so that a process loading the
    library (or a concurrent build) never sees a half-written file."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=output.name + ".", dir=BUILD_DIR)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        result = subprocess.run([*command, "-o", str(tmp)], capture_output=True, text=True)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            if "-lcrypto" in detail or "cannot find -lcrypto" in detail:
                raise BuildError(MISSING_TOOLS.format(what="libcrypto (-lcrypto)"))
            raise BuildError(f"compiling {output.name} failed:\n{detail}")
        tmp.chmod(0o755)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def build_simulator(force: bool = False) -> Path:
    """Build the simulator library if any source is newer than it (or force); return its path.

    In a frozen bundle (PyInstaller) the library was built by this function when the bundle was
    made and ships prebuilt at the same place relative to this module, without sources or a
    compiler: it is returned as it is."""
    output = simulator_path()
    if getattr(sys, "frozen", False):
        if not output.is_file():
            raise BuildError(f"the SDK simulator {output} is missing from this installation: reinstall the app")
        return output
    if not force and not _is_stale(output, _dependencies()):
        return output
    cc = _compiler()
    _check_openssl(cc)
    sources = [str(path) for path in _library_sources()]
    # -ldl: dlopen/dlsym for the Qt check (qtguard.c); part of libc since glibc 2.34.
    _run_compiler([*cc, *LIBRARY_FLAGS, *COMMON_FLAGS, *sources, "-lcrypto", "-ldl"], output)
    return output


def build_smoke(force: bool = False) -> Path:
    """Build the C smoke-test driver, linked against the simulator library."""
    library = build_simulator(force)
    # The driver parses the library's output with the simulator's own JSON and base64 code.
    sources = [SMOKE_SOURCE, SOURCE_DIR / "json.c", SOURCE_DIR / "b64.c"]
    if force or _is_stale(SMOKE_BINARY, [*sources, library, Path(__file__)]):
        cc = _compiler()
        flags = ["-O1", "-g", *COMMON_FLAGS]
        link = [str(library), f"-Wl,-rpath,{BUILD_DIR}", "-lcrypto"]
        _run_compiler([*cc, *flags, *map(str, sources), *link], SMOKE_BINARY)
    return SMOKE_BINARY


def run_smoke(valgrind: bool = False) -> int:
    """Run the smoke driver (optionally under valgrind); return its exit status."""
    command = [str(build_smoke())]
    if valgrind:
        if shutil.which("valgrind") is None:
            raise BuildError("valgrind not found (on Debian/Ubuntu: apt-get install valgrind)")
        # The smoke test forks children that the library kills on purpose (DecryptData on a short
        # message); their reports would only be noise, the parent checks how they ended.
        command = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=all",
                   "--error-exitcode=1", "--child-silent-after-fork=yes", *command]
    return subprocess.run(command).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the WeCom Finance SDK simulator.")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--smoke", action="store_true", help="build and run the C smoke test")
    parser.add_argument("--valgrind", action="store_true", help="run the smoke test under valgrind")
    args = parser.parse_args(argv)
    try:
        path = build_simulator(force=args.force)
        print(path)
        if args.smoke or args.valgrind:
            if args.force:
                build_smoke(force=True)
            return run_smoke(valgrind=args.valgrind)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

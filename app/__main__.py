"""``python -m app``, and the entry point of the frozen bundle (packaging/wecom-auditor.spec).

A frozen bundle has no ``python -m``: its child processes are started as ``wecom-auditor
--child-process MODULE`` (app.core.processes.child_command), and this dispatches them to the
module's ``main()`` before anything else is imported — above all never Qt, which must not be in
a process that loads Tencent's library, and never the window. Only the modules named here can be
started that way.
"""

import sys

CHILD_FLAG = "--child-process"  # the same as app.core.processes.CHILD_FLAG (a test checks)
CHILD_MODULES = ("app.core.sdk.host", "app.core.sync.process", "app.core.sync.index_process",
                 "app.core.export.pdf_process")


def run_child(module: str) -> None:
    """Run a child module's ``main()`` as ``python -m module`` would; exit 2 for any other module."""
    if module not in CHILD_MODULES:
        sys.stderr.write(f"wecom-auditor: {CHILD_FLAG} takes one of {', '.join(CHILD_MODULES)}, not {module!r}\n")
        sys.exit(2)
    import importlib

    importlib.import_module(module).main()
    sys.exit(0)


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == CHILD_FLAG:
        if len(sys.argv) != 3:
            sys.stderr.write(f"wecom-auditor: {CHILD_FLAG} takes exactly one module name\n")
            sys.exit(2)
        run_child(sys.argv[2])
    from app.cli import main as cli

    cli()


if __name__ == "__main__":
    main()

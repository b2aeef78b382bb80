"""What pyproject.toml cannot say to setuptools: the checkout's ``resources/`` folder (the Qt
translations and the PDF fonts) is installed as ``app/resources`` (app.core.resources finds it
there), and a built wheel records its version and commit in ``app/resources/build-info.json``
(``wecom-auditor --version``). Everything else is in pyproject.toml."""

import datetime
import json
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class BuildWithStamp(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads git at run time
            return
        target = Path(self.build_lib) / "app" / "resources" / "build-info.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({
            "version": self.distribution.get_version(), "commit": _commit(),
            "built": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")}), "utf-8")


setup(
    # The Alembic folders have no __init__.py (Alembic loads their files itself): named here.
    packages=[*find_packages(include=["app*", "native*"]), "app.core.store.migrations",
              "app.core.store.migrations.versions", "app.resources"],
    package_dir={"app.resources": "resources"},
    package_data={
        "native": ["include/*.h", "simulator/*.c", "simulator/*.h"],
        "app.core.store.migrations": ["script.py.mako"],
        "app.resources": ["i18n/*.qm", "fonts/*.ttf", "fonts/*.txt", "fonts/README.md"],
    },
    cmdclass={"build_py": BuildWithStamp},
)

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "observability"


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make system-deps` installs Debian's prometheus package"
    return path

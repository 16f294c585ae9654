"""Where things live on disk. The run directory holds pid files, logs and rendered config files."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Each stage's source folder: what goes on PYTHONPATH (and later into a Lambda package or an image).
STAGE_DIRS = {
    "monolith": REPO_ROOT / "01-monolith",
    "microservices": REPO_ROOT / "02-microservices",
    "clean": REPO_ROOT / "03-clean-architecture",
}


def run_dir() -> Path:
    """`.run/` at the repository root, or SHOP_RUN_DIR (the tests use a temporary one)."""
    path = Path(os.environ.get("SHOP_RUN_DIR", REPO_ROOT / ".run"))
    path.mkdir(parents=True, exist_ok=True)
    return path

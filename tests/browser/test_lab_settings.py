"""`make lab`: its project settings (notebooks/.jupyter/overrides.json) name real JupyterLab settings, and
it is rooted at the repository, so the notebooks' links to the stages' code open in Lab.

A misspelt key or value is silently ignored by JupyterLab, and the "get notified about Jupyter news?"
prompt would be back: check the overrides against the installed JupyterLab's own schemas.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shopctl.local.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def test_overrides_are_valid_settings_that_turn_the_news_prompt_off() -> None:
    overrides = json.loads((ROOT / "notebooks" / ".jupyter" / "overrides.json").read_text())
    for plugin, settings in overrides.items():
        package, name = plugin.rsplit(":", 1)
        schema = json.loads((SCHEMAS / package / f"{name}.json").read_text())
        for key, value in settings.items():
            spec = schema["properties"].get(key)
            assert spec is not None, f"{plugin} has no setting {key!r}"
            allowed = spec.get("enum") or [choice["const"] for choice in spec.get("oneOf", []) if "const" in choice]
            if allowed:
                assert value in allowed, f"{plugin} {key}: {value!r} not in {allowed}"
            else:
                assert isinstance(value, {"boolean": bool, "string": str}[spec["type"]]), (plugin, key)
    # "false": never fetch news and never ask ("none", the default, asks on first start).
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"



# --- `make lab` is rooted at the repository ------------------------------------------------------------

LINK = re.compile(r"\]\(([^)#\s]+)")


@pytest.fixture(scope="module")
def lab() -> Iterator[httpx.Client]:
    """`make lab` itself, on a free port, without a browser; its contents API behind a token of our own."""
    port, token = free_port(), secrets.token_hex(16)
    flags = f"--no-browser --IdentityProvider.token={token} --ServerApp.open_browser=False"
    process = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_FLAGS={flags}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # make, jupyter and its kernels: one process group to stop
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"token {token}"})
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"make lab stopped: {process.stderr.read().decode()[-500:]}"  # type: ignore[union-attr]
            try:
                if client.get("/api/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
            time.sleep(0.5)
        yield client
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        # Jupyter shuts its server down after make has gone: nothing may be left answering.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                client.get("/api/status")
            except httpx.TransportError:
                break
            time.sleep(0.5)
        else:
            os.killpg(process.pid, signal.SIGKILL)
        client.close()


@pytest.mark.e2e
def test_make_lab_opens_notebook_00_and_serves_the_stages_code(lab: httpx.Client) -> None:
    assert lab.get("/api/contents/notebooks/00-welcome.ipynb", params={"content": 0}).status_code == 200
    got = lab.get("/api/contents/01-monolith/monolith/main.py", params={"content": 0})
    assert got.status_code == 200, got.text[:200]
    assert got.json()["type"] == "file"
    # The start page (what the browser opens) is notebook 00.
    start = lab.get("/", follow_redirects=False)
    assert start.headers.get("location", "").rstrip("?").endswith("/lab/tree/notebooks/00-welcome.ipynb"), start.headers


@pytest.mark.e2e
def test_every_link_from_a_notebook_to_the_repository_opens_in_lab(lab: httpx.Client) -> None:
    links = set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                links |= {link for link in LINK.findall("".join(cell["source"])) if "://" not in link}
    assert any(link.startswith("../0") for link in links), "the notebooks link to the stages' code"
    for link in sorted(links):
        target = posixpath.normpath(posixpath.join("notebooks", link)).rstrip("/")
        got = lab.get(f"/api/contents/{target}", params={"content": 0})
        assert got.status_code == 200, f"{link} (from notebooks/) -> {target}: {got.status_code}"

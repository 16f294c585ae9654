"""Load a page in real headless Chromium with no way out to the internet, and see what it did.

The browser gets a proxy that points nowhere (127.0.0.1:9, the discard port, where nothing listens):
every request to an outside host fails, while loopback addresses bypass proxies by default — the page
under test, served on 127.0.0.1, loads and nothing else does. A net log records every request the page
started, so a test can also name the outside hosts a page tried to reach.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

NOWHERE_PROXY = "http://127.0.0.1:9"
# Enough for the page's scripts to fetch /openapi.json and render: virtual time runs as fast as the page
# lets it, so this is an upper bound, not a wait.
VIRTUAL_TIME_MS = 15_000
TIMEOUT_S = 90


def binary() -> str | None:
    """Debian's `chromium` (`.ci/run` installs it when missing)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class PageLoad:
    dom: str  # the DOM after the page's scripts ran
    requested: tuple[str, ...]  # every URL the page itself requested (not the browser's own traffic)

    def outside(self, page_origin: str) -> list[str]:
        """The requests that left `page_origin` (scheme://host:port)."""
        return sorted(url for url in self.requested if origin(url) != page_origin)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def load(url: str, *, screenshot: Path | None = None) -> PageLoad:
    """Load `url` offline; return the rendered DOM and the page's own requests."""
    chromium = binary()
    if chromium is None:
        raise RuntimeError("chromium not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as scratch:
        netlog = Path(scratch) / "net.json"
        flags = [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={scratch}/profile",
            f"--proxy-server={NOWHERE_PROXY}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}",
            f"--log-net-log={netlog}",
        ]
        if screenshot is not None:
            subprocess.run(
                [*flags, "--window-size=1200,900", f"--screenshot={screenshot}", url],
                capture_output=True, timeout=TIMEOUT_S, check=True,
            )
        result = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=TIMEOUT_S)
        if result.returncode != 0:
            raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr.strip()[-500:]}")
        return PageLoad(result.stdout, _page_requests(netlog, origin(url)))


def _page_requests(netlog: Path, origin: str) -> tuple[str, ...]:
    """URLs of requests the page started: those whose initiator is the page's origin, plus the page itself.

    The browser's own background traffic (update checks, time sync) has no page as initiator: left out.
    """
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = set()
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and "url" in params and params.get("initiator") == origin:
            urls.add(params["url"])
    return tuple(sorted(urls))

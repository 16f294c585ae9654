"""The function as Lambda holds it: its configuration (re-read at most once a second) and its code.

moto does not bump RevisionId/LastModified on every change, so a change is detected by a fingerprint
of what shapes an execution environment: code, handler, runtime, memory, timeout, environment.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shopctl import package
from shopctl.aws import artifacts
from shopctl.lambda_local.events import UrlInfo

REFRESH_SECONDS = 1.0


class FunctionNotFound(Exception):
    pass


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    code_sha256: str
    variables: dict[str, str] = field(default_factory=dict)
    package_type: str = "Zip"  # "Image": a container image, its command a web server (Lambda Web Adapter)
    image_command: tuple[str, ...] = ()  # the image's ENTRYPOINT + CMD, as ImageConfig overrides them

    @classmethod
    def from_api(cls, raw: dict) -> FunctionConfig:
        image = (raw.get("ImageConfigResponse") or {}).get("ImageConfig") or {}
        return cls(
            name=raw["FunctionName"],
            arn=raw["FunctionArn"],
            handler=raw.get("Handler") or "",
            runtime=raw.get("Runtime") or "",
            memory_mb=int(raw.get("MemorySize", 128)),
            timeout_s=int(raw.get("Timeout", 3)),
            code_sha256=raw["CodeSha256"],
            variables=dict((raw.get("Environment") or {}).get("Variables") or {}),
            package_type=raw.get("PackageType") or "Zip",
            image_command=(*(image.get("EntryPoint") or []), *(image.get("Command") or [])),
        )

    @property
    def is_image(self) -> bool:
        return self.package_type == "Image"

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    @property
    def code_hex(self) -> str:
        if self.is_image:  # an image's "CodeSha256" is the image digest: no package in S3
            return hashlib.sha256(self.code_sha256.encode()).hexdigest()
        return artifacts.artifact_key(self.name, self.code_sha256).rsplit("/", 1)[1].removesuffix(".zip")

    @property
    def fingerprint(self) -> str:
        shape = [self.code_sha256, self.handler, self.runtime, self.memory_mb, self.timeout_s, self.variables]
        if self.is_image:  # (kept out of a ZIP's shape: its fingerprint stays what it was)
            shape += [self.package_type, list(self.image_command)]
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


# Unpacked code, one tree per package digest, shared by every local function and run. Unpacking a package
# (~2,700 files: the AWS SDK's data among them) costs 1 to 2 s of CPU, mostly in creating files; a function's
# task root is a hard-linked copy of the shared tree instead (0.1 s), its own: pruning the cache never
# touches the code a function runs. Like /var/task on AWS, nothing may write to it (it would write through
# to the shared tree); the runtime writes no bytecode there.
# The least recently used trees go first, beyond this size unpacked (a stage's package is ~37 MB; make test
# runs 14 different packages, 260 MB). The newest tree is always kept.
CODE_CACHE_BYTES = int(os.environ.get("SHOP_LAMBDA_CODE_CACHE_MB", "400")) * 1_000_000


def unpack(code_hex: str, fetch: Callable[[], bytes], target: Path, cache: Path | None = None) -> Path:
    """The package whose sha256 is `code_hex` unpacked at `target`; `fetch` gets its bytes if not cached."""
    if target.is_dir():
        return target
    cache = cache or package.build_root() / "code"
    shared = cache / code_hex
    if not shared.is_dir():
        data = fetch()
        cache.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # its size, for pruning (beside it, not in it)
            _size_file(shared).write_text(str(sum(info.file_size for info in archive.infolist())))
        extract(data, shared)  # appears whole, its size already known
        _prune(cache)
    try:
        os.utime(shared)  # used: kept longest
        return _in_place(target, lambda tree: shutil.copytree(shared, tree, copy_function=os.link))
    except OSError:  # no hard links here (another file system), or the tree was pruned meanwhile
        return extract(fetch(), target)


def _size_file(tree: Path) -> Path:
    return tree.with_name(f"{tree.name}.size")


def _prune(cache: Path, budget: int = CODE_CACHE_BYTES) -> None:
    trees = [p for p in cache.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{64}", p.name)]
    trees.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for n, tree in enumerate(trees):
        try:
            total += int(_size_file(tree).read_text())
        except (OSError, ValueError):  # not unpacked by unpack(): not the cache's to keep
            shutil.rmtree(tree, ignore_errors=True)
            continue
        if n and total > budget:
            shutil.rmtree(tree, ignore_errors=True)
            _size_file(tree).unlink(missing_ok=True)


def extract(data: bytes, target: Path) -> Path:
    """Unzip a package into `target` (once: an existing target is that very code, by its digest)."""

    def unzip(tree: Path) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(tree)

    return _in_place(target, unzip)


def _in_place(target: Path, fill: Callable[[Path], None]) -> Path:
    """`target`, made by `fill` in a staging folder beside it and moved into place whole — or the one another
    process put there first (same name, same code)."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(staging / "tree")
        os.replace(staging / "tree", target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class Function:
    """The deployed function: current configuration, unpacked code, Function URL identity."""

    def __init__(self, name: str, work_dir: Path, *, on_change=None, say=print) -> None:
        self.name = name
        self.work_dir = work_dir
        self._on_change = on_change or (lambda config: None)
        self._say = say
        self._lock = threading.Lock()
        self._config: FunctionConfig | None = None
        self._task_root: Path | None = None
        self._checked = 0.0
        self._url: UrlInfo | None = None
        self._auth_type: str | None = None  # the Function URL's AuthType, None while it has none
        self._last_url: dict | None = None
        self._lambda = boto3.client(
            "lambda", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})
        )

    @property
    def config(self) -> FunctionConfig | None:
        return self._config

    @property
    def task_root(self) -> Path | None:
        return self._task_root

    @property
    def auth_type(self) -> str | None:
        """The Function URL's AuthType (AWS_IAM takes signed requests only), None while it has none."""
        return self._auth_type

    def current(self) -> tuple[FunctionConfig, Path, UrlInfo]:
        """The configuration to run a request with (re-read from Lambda at most once a second)."""
        with self._lock:
            if self._config is None or time.monotonic() - self._checked >= REFRESH_SECONDS:
                self._refresh()
            assert self._config is not None and self._task_root is not None and self._url is not None
            return self._config, self._task_root, self._url

    def _refresh(self) -> None:
        try:
            raw = self._lambda.get_function_configuration(FunctionName=self.name)
            config = FunctionConfig.from_api(raw)
            if self._config is None or config.fingerprint != self._config.fingerprint:
                task_root = self.work_dir / config.code_hex
                if config.is_image:  # nothing to unpack: locally the image is this machine's environment
                    task_root.mkdir(parents=True, exist_ok=True)
                else:
                    unpack(config.code_hex, lambda: artifacts.download(self.name, config.code_sha256), task_root)
            else:
                task_root = self._task_root
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise FunctionNotFound(self.name) from None
            self._keep_last(error)
            return
        except (BotoCoreError, OSError, ValueError, zipfile.BadZipFile) as error:  # AWS away, bad package…
            self._keep_last(error)
            return
        finally:
            self._checked = time.monotonic()
        # Read on every refresh, not once: a re-deploy with another AUTH changes the URL of a running function.
        url = self._url_config()
        self._auth_type = url.get("AuthType", "NONE") if url else None
        if self._url is None or self._url.url_id == self._made_up_url_id(config):
            self._url = self._url_info(config, url)
        if self._config is not None and config.fingerprint == self._config.fingerprint:
            return
        previous = self._config
        self._config, self._task_root = config, task_root
        if previous is not None:
            self._say(
                f"{self.name} changed (code {config.code_sha256[:12]}…, fingerprint "
                f"{config.fingerprint}): new requests get new execution environments"
            )
        self._on_change(config)

    def _keep_last(self, error: Exception) -> None:
        if self._config is None:
            raise error
        self._say(f"could not refresh {self.name} ({error}); still serving the last configuration")

    @staticmethod
    def _made_up_url_id(config: FunctionConfig) -> str:
        return hashlib.md5(config.arn.encode(), usedforsecurity=False).hexdigest()

    def _url_config(self) -> dict | None:
        """The Function URL's configuration (None: there is none). When the local AWS does not answer, the
        last one read: an AWS_IAM URL must not turn public for a second because a call failed."""
        try:
            self._last_url = self._lambda.get_function_url_config(FunctionName=self.name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                self._last_url = None
        except BotoCoreError:
            pass
        return self._last_url

    def _url_info(self, config: FunctionConfig, url: dict | None) -> UrlInfo:
        """requestContext's identity of the Function URL (a stable made-up one while there is none)."""
        if url is None:
            return UrlInfo(self._made_up_url_id(config), config.region)
        url_id = url["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
        account = "anonymous" if url.get("AuthType", "NONE") == "NONE" else config.account_id
        return UrlInfo(url_id, config.region, account)

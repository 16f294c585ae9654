"""The local Lambda unpacks a package once per content and gives each function a hard-linked copy of it."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

from shopctl.lambda_local import function


def _package(text: str) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
        archive.writestr("lib/data.json", "{}")
    data = buffer.getvalue()
    return hashlib.sha256(data).hexdigest(), data


def test_functions_with_the_same_code_share_one_unpacking_but_own_their_task_root(tmp_path: Path) -> None:
    code_hex, data = _package("print('v1')")
    fetched = []

    def fetch() -> bytes:
        fetched.append(1)
        return data

    one = function.unpack(code_hex, fetch, tmp_path / "run-a" / code_hex, cache=tmp_path / "cache")
    two = function.unpack(code_hex, fetch, tmp_path / "run-b" / code_hex, cache=tmp_path / "cache")
    assert len(fetched) == 1  # downloaded and unpacked once
    assert (one / "app.py").read_text() == (two / "app.py").read_text() == "print('v1')"
    assert os.stat(one / "lib" / "data.json").st_ino == os.stat(two / "lib" / "data.json").st_ino


def test_the_least_recently_used_code_is_pruned_and_a_task_root_made_from_it_stays(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    packages = [_package(f"print({n})") for n in range(3)]
    roots = [function.unpack(h, lambda d=d: d, tmp_path / "run" / h, cache=cache) for h, d in packages[:2]]
    os.utime(cache / packages[0][0], (1, 1))  # used long ago
    function.unpack(packages[2][0], lambda: packages[2][1], tmp_path / "run" / packages[2][0], cache=cache)
    sizes = [int((cache / f"{h}.size").read_text()) for h, _ in packages]
    assert sizes == [len("print(0)") + 2] * 3  # what it holds unpacked: app.py and lib/data.json
    function._prune(cache, budget=sum(sizes[1:]))  # room for two
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == sorted(h for h, _ in packages[1:])
    assert not (cache / f"{packages[0][0]}.size").exists()
    assert (roots[0] / "app.py").read_text() == "print(0)"  # the function running it is not affected


def test_without_hard_links_the_code_is_unpacked_for_the_function(tmp_path: Path, monkeypatch) -> None:
    code_hex, data = _package("print('v1')")
    function.unpack(code_hex, lambda: data, tmp_path / "a" / code_hex, cache=tmp_path / "cache")

    def no_links(*_: object, **__: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(function.os, "link", no_links)
    root = function.unpack(code_hex, lambda: data, tmp_path / "b" / code_hex, cache=tmp_path / "cache")
    assert (root / "app.py").read_text() == "print('v1')"
    assert os.stat(root / "app.py").st_ino != os.stat(tmp_path / "cache" / code_hex / "app.py").st_ino

"""shopctl.workshop.session: a notebook's own run directory and local AWS, all of it stopped on close()."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shopctl import workshop
from shopctl.local import localaws


def test_a_session_has_its_own_run_directory_and_restores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(workshop.SESSION_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv("FORCE_COLOR", "1")
    before = dict(os.environ)
    session = workshop.Session.start("test", aws=False, quiet=True)
    closed: list[str] = []
    session.on_close(closed.append, "callback ran")
    assert os.environ["SHOP_RUN_DIR"] == str(session.run_dir)
    assert session.run_dir.parent == tmp_path
    assert "FORCE_COLOR" not in os.environ  # tools whose output is parsed must not write colour codes
    session.close(quiet=True)
    assert closed == ["callback ran"]
    assert not session.run_dir.exists()
    assert dict(os.environ) == before
    assert session.close(quiet=True) == []  # a second close does nothing


def test_a_session_with_aws_stops_its_local_aws_and_restores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(workshop.SESSION_ROOT_ENV, str(tmp_path))
    before = dict(os.environ)
    session = workshop.Session.start("test", quiet=True)
    assert session.aws is not None and localaws.is_up(session.aws.port)
    assert os.environ["AWS_ENDPOINT_URL"] == session.aws.endpoint
    assert os.environ["SHOP_RUN_DIR"] == str(session.run_dir)  # the local AWS keeps its pid file there
    stopped = session.close(quiet=True)
    assert stopped == [f"local AWS on port {session.aws.port} (pid {session.aws.pid})"]
    assert not localaws.is_up(session.aws.port)
    assert dict(os.environ) == before

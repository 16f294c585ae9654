"""What each Lambda mode deploys (shopctl.compare.lambda_subjects), and when a mode starts from scratch."""

from __future__ import annotations

from shopctl.compare.lambda_subjects import MODES, mode_options, needs_fresh_deploy, request_path
from shopctl.stages import STAGES


def test_only_a_move_into_or_out_of_snapstart_or_the_image_redeploys_from_scratch() -> None:
    assert not needs_fresh_deploy(None, "snapstart")  # nothing deployed yet
    assert not needs_fresh_deploy("plain", "optimized")  # a new ZIP: an ordinary update
    assert needs_fresh_deploy("optimized", "snapstart")  # the local Lambda's settings change
    assert needs_fresh_deploy("snapstart", "image")  # and Lambda cannot turn a ZIP function into an image one
    assert needs_fresh_deploy("image", "plain")


def test_each_mode_is_one_make_deploy_setting() -> None:
    assert MODES == ("plain", "optimized", "snapstart", "image")
    snap = mode_options("snapstart", port=8123)
    assert (snap.snapstart, snap.optimize, snap.package, snap.port) == (True, False, "zip", 8123)
    image = mode_options("image")
    assert (image.package, image.snapstart, image.optimize) == ("image", False, False)
    assert mode_options("optimized").optimize and not mode_options("plain").optimize


def test_the_first_request_reads_the_database() -> None:
    services = {s.name: s for stage in STAGES.values() for s in stage.app_services()}
    assert request_path(services["orders"]) == "/orders?limit=1"
    assert request_path(services["users"]) == "/users?limit=1"


def test_the_untimed_health_request_retries_a_5xx_once_more_but_not_a_4xx(monkeypatch) -> None:
    import pytest

    from shopctl.compare import lambda_subjects
    from shopctl.errors import ShopctlError

    answers: list[int] = []

    def invoke_url(url: str, *, auth_type: str) -> tuple[int, float]:
        return answers.pop(0), 1.0

    monkeypatch.setattr(lambda_subjects.coldstart, "invoke_url", invoke_url)
    answers[:] = [502, 200]
    lambda_subjects.health("http://x", "NONE", "shop-floor")  # an init past the limit, then a fresh environment
    assert answers == []
    answers[:] = [502, 502, 502]
    with pytest.raises(ShopctlError, match="answered GET /health with 502"):
        lambda_subjects.health("http://x", "NONE", "shop-floor")
    answers[:] = [403, 200]
    with pytest.raises(ShopctlError, match="with 403"):
        lambda_subjects.health("http://x", "AWS_IAM", "shop-floor")
    assert answers == [200]

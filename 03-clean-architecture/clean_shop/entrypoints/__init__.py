"""Entrypoints: how requests reach the use cases.

- http.py            the FastAPI app, built around an already-wired Container
- server.py          `uvicorn clean_shop.entrypoints.server:app` — ECS and EKS (one container image)
- lambda_handler.py  the same app behind Mangum — Lambda
- startup.py         bootstrap or exit with one line: a misconfigured process never serves a request
- body_limit.py      bodies over 64 KiB are a 413 before any route reads them
- offline_docs.py    /docs served from local assets (it renders with no network)

All three share one create_app(); the runtime differences were settled in bootstrap.py.
"""

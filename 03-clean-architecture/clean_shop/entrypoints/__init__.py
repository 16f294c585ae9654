"""Entrypoints: how requests reach the use cases.

- http.py            the FastAPI app, built around an already-wired Container
- server.py          `uvicorn clean_shop.entrypoints.server:app` — ECS and EKS (one container image)
- lambda_handler.py  the same app behind Mangum — Lambda

All three share one create_app(); the runtime differences were settled in bootstrap.py.
"""

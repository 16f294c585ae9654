"""Entrypoints: how requests reach the use cases.

- http.py            the FastAPI app, built around an already-wired Container (/docs offline through
                     fastapi-offline; bodies over 64 KiB a 413 through Starlette's body limit)
- server.py          `uvicorn clean_shop.entrypoints.server:app` — ECS and EKS (one container image)
- lambda_handler.py  the same app behind Mangum — Lambda
- startup.py         bootstrap or exit with one line: a misconfigured process never serves a request

All three share one create_app(); the runtime differences were settled in bootstrap.py.
"""

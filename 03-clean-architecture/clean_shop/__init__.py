"""The shop written as ports and adapters (clean architecture).

Read it from the inside out — each layer may import only the layers listed after it:

    entrypoints  ->  bootstrap  ->  adapters  ->  application  ->  domain

- domain/       what a User and an Order are, and their rules. Pure Python.
- application/  the use cases, and the ports (interfaces) they need from the outside world.
- adapters/     implementations of those ports: DynamoDB, in-memory, and one config lookup per runtime.
- bootstrap.py  the composition root: the only place that reads RUNTIME and picks adapters.
- entrypoints/  how requests arrive: HTTP (FastAPI), a uvicorn server, a Lambda handler (Mangum).

The rule is checked by import-linter (`make lint`, and tests/test_architecture.py).
"""

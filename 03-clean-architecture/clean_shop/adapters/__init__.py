"""Adapters: concrete implementations of the application's ports.

- dynamodb_repository.py  UserRepository / OrderRepository on DynamoDB (production)
- memory_repository.py    the same ports on dicts (unit tests, `STORAGE=memory`)
- config.py               ConfigPort for Lambda (env vars), ECS (SSM Parameter Store), EKS (a mounted file)
- page_token.py           the opaque `next` token both repositories hand out

Infrastructure knowledge lives here and nowhere else. Swapping DynamoDB for another database means
adding a module here (and one line in bootstrap.py), not editing use cases.
"""

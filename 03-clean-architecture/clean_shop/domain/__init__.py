"""The domain: users, orders and their rules.

Nothing here knows about HTTP, DynamoDB, Lambda or configuration — only the Python standard library.
That is what lets the same rules run unchanged on Lambda, ECS, EKS, or inside a unit test.
"""

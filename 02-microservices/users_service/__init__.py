"""users-service: owns users and nothing else.

Layered the classic way — models (HTTP shapes), routes (thin HTTP), service (rules), repository
(DynamoDB), config (where the table name comes from) — and deployable on its own. What it does *not*
do is separate itself from its infrastructure: repository.py is boto3 and config.py branches on the
runtime, exactly like the monolith did.
"""

"""Stage 01 — the monolith: the whole shop in one module, `monolith.main`.

One FastAPI app whose functions validate input, talk to DynamoDB through boto3 and decide on their
own where configuration comes from (Lambda environment, ECS SSM Parameter Store, EKS mounted file).
It runs correctly on all three runtimes; the point of the stage is to see what that costs when
something changes. See 01-monolith/README.md.
"""

"""orders-service: owns orders, and asks the users-service (over HTTP) whether a user exists.

Same layering as the users-service — models, routes, service, repository, config — plus
users_client.py, the one neighbour it talks to. Like the users-service it is still welded to its
infrastructure: its repository is boto3 and its config.py branches on the runtime (a copy of the
users-service's branches, by design — see config.py).
"""

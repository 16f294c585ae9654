"""shopctl — the workshop's operations code: local AWS, tables and configuration, running and deploying
the three stages. The Makefile is a thin menu over `python -m shopctl …`.

Every AWS call here goes through boto3; whether it lands on the local AWS (moto server) or on a real
account depends only on boto3's standard environment (AWS_ENDPOINT_URL, credentials, region).
"""

"""The floor: what any stage's cold start costs before its own code runs.

It imports the same third-party packages as every stage (FastAPI, Mangum, boto3), creates one DynamoDB
client at init and answers `GET /users` with one real DynamoDB call — and has no architecture at all.
`make compare` packages it like a stage (`shopctl.package.build_zip`), runs it on the same local Lambda
(handler `floor_app.main.handler`) and as a container command (`uvicorn floor_app.main:app`), and shows
every stage's cold start as a ratio to it: a ratio is stable across machines, absolute times are not.
"""

import os

import boto3
from fastapi import FastAPI
from mangum import Mangum

dynamodb = boto3.client("dynamodb")
app = FastAPI(title="cold-start floor")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": "floor"}


@app.get("/users")
def users(limit: int = 1) -> dict:
    page = dynamodb.scan(TableName=os.environ["USERS_TABLE"], Limit=limit)
    return {"items": page.get("Items", []), "next": None}


handler = Mangum(app, lifespan="off")

"""The cold-start floor of `make compare`: the least a FastAPI-on-Lambda function with DynamoDB does."""

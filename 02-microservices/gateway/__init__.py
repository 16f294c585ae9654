"""The microservices stage's front door: one base URL in front of the users- and orders-service."""

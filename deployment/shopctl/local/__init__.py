"""The local stand-ins for AWS: the local AWS (moto server), the supervisor that runs containers' commands
as processes, the fault proxy, and `make run`. The local Lambda is its own package, `shopctl.lambda_local`."""

"""The application layer: what the shop *does* (use cases) and what it *needs* (ports).

Use cases talk to storage and configuration only through the abstract ports in ports.py; the
concrete adapters are chosen elsewhere (bootstrap.py) and passed in. Like the domain, this package
imports nothing outside the standard library — not even `os`.
"""

"""`make verify`: the shop under generated bad input, load, faults and policy scanners.

Each check module exposes `run(stage, target, *, reduced) -> list[Result]`; `shopctl.verify.runner`
runs them for every stage and target and prints one table (check, stage, target, tried, failed).
The test suite runs the same checks with `reduced=True`.
"""

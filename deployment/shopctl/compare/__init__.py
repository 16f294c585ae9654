"""`make compare`: the three stages measured, not argued — `python -m shopctl.compare`.

- source.py      reads a stage's modules: code lines, imports, and the words its code uses (AST + tokenize)
- coupling.py    per-stage facts, the grimp import graph (Ca, Ce, instability), the import-linter
                 contracts; `analyse()`, `markdown()` and `python -m shopctl.compare.coupling`
- impact.py      which files (and lines) a given change touches in each stage, derived from those facts
- cold_starts.py cold starts per stage x target (local Lambda REPORT lines; ECS/EKS container commands)
                 against a floor measured in the same run; Lambda in four modes (plain and OPTIMIZE=1 ZIP,
                 SnapStart restore, the Web Adapter image), import times
- floor_app/     the floor: FastAPI + Mangum + boto3 + one client, no architecture
- testcost.py    each stage's test tiers run and timed; pytest_probe.py says which need an AWS emulator
- report.py      the markdown (coupling tables, and the whole report.md); charts.py the PNG charts
- cli.py         the command line: sections, --n, --quick, --modes, --out; writes report.md, report.json, *.png
- side_by_side.py notebook 05's live runs (three stages; one stage in four modes) and their stored references

Every number carries a `method` string saying how it was computed, and the report prints it.
"""

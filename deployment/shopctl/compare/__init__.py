"""`make compare`: the three stages measured, not argued — `python -m shopctl.compare`.

- source.py           reads a stage's modules: code lines, imports, and the words its code uses (AST + tokenize)
- markers.py          the patterns the analysis asks of those words (boto3, DynamoDB, RUNTIME, config locations)
- coupling.py         per-stage facts, the grimp import graph (Ca, Ce, instability), the import-linter
                      contracts; `analyse()` (dict), `analysis()` (typed), `python -m shopctl.compare.coupling`
- impact.py           which files (and lines) a given change touches in each stage, derived from those facts
- coldstart_run.py    the cold-start section's run: the floor and every stage, Lambda in four modes, containers
- figures.py          the statistics: summaries of N rounds, per-round ratios, spread, "within noise"
- floor.py            the floor as a Lambda function and a container command; floor_app/ its code
- lambda_subjects.py  the stages deployed in a Lambda mode, their cold starts forced round by round
- process_subjects.py the containers' commands (local, ECS, EKS) started fresh and timed
- importtime.py       the `-X importtime` breakdown of each handler in its plain package
- goals.py            the maintainers' performance goals, evaluated on a run (reported, never asserted)
- testcost.py         each stage's test tiers run and timed; pytest_probe.py says which need an AWS emulator
- results.py          typed results (dataclasses) for notebook 05 and the report: cold starts, findings, coupling
- report.py           report.md and the coupling tables; coldstart_report.py its cold-start sections;
                      tables.py the markdown helpers; charts.py the PNG charts
- cli.py              the command line: sections, --n, --quick, --modes, --out; writes report.md, report.json, *.png
- side_by_side.py     notebook 05's live runs (three stages; one stage in four modes) and their stored references

Every number carries a `method` string saying how it was computed, and the report prints it.
"""

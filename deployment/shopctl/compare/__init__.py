"""`make compare`: the three stages measured from their own code, not from slides.

- source.py    reads a stage's modules: code lines, imports, and the words its code uses (AST + tokenize)
- coupling.py  per-stage facts, the grimp import graph (Ca, Ce, instability), the import-linter
               contracts; `analyse()`, `markdown()` and `python -m shopctl.compare.coupling`
- impact.py    which files (and lines) a given change touches in each stage, derived from those facts
- report.py    the markdown tables

Every number carries a `method` string saying how it was computed, and the report prints it.
"""

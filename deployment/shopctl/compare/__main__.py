"""`python -m shopctl.compare` (what `make compare` runs); see shopctl.compare.cli."""

import sys

from shopctl.compare.cli import main

sys.exit(main())

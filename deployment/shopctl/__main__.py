import sys

from shopctl.cli import main

sys.exit(main())

import sys

from shopctl.lambda_local.cli import main

sys.exit(main())

import sys

from shopctl.verify.runner import main

sys.exit(main())

import os
import sys

from shopctl.lambda_local.cli import main

status = main()
sys.stdout.flush()
sys.stderr.flush()
# Everything is already stopped and flushed by main(): skip the interpreter's slow teardown.
os._exit(status)

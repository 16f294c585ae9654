"""`make contract` without URL: the contract suite in the URL mode against every deployment `shopctl urls`
lists (its lines on stdin: `stage target url [orders-url]`), one pytest process per URL, side by side.

Side by side because each deployment has tables of its own: no test sees another URL's writes (within one
URL the tests run one at a time, as a test that counts the users assumes). Each run's output is printed
whole, in the order of the lines, then one verdict line per URL; the exit code is 1 if any run failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error).*?)\s*=*$", re.MULTILINE)


def main(argv: list[str]) -> int:
    runs = []
    for line in sys.stdin.read().splitlines():
        stage, target, url, *orders = line.split()
        env = {**os.environ, "SHOP_CONTRACT_URL": url, "SHOP_CONTRACT_STAGE": stage, "SHOP_CONTRACT_TARGET": target,
               "SHOP_CONTRACT_ORDERS_URL": orders[0] if orders else ""}  # fmt: skip
        where = f"{stage} on {target}: {url}" + (f" (/orders… at {orders[0]})" if orders else "")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/contract", *argv]
        runs.append((where, subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, text=True,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))  # fmt: skip
    if not runs:  # `shopctl urls` has said why, in its one line
        return 1
    verdicts = []
    for where, proc in runs:
        out, _ = proc.communicate()
        print(f"… the contract suite against {where}\n{out}", flush=True)
        summary = SUMMARY.findall(out)
        verdicts.append((proc.returncode == 0, where, summary[-1][0] if summary else f"exit {proc.returncode}"))
    for ok, where, summary in verdicts:
        print(f"{'✓' if ok else '✗'} {where}: {summary}")
    return 0 if all(ok for ok, _, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

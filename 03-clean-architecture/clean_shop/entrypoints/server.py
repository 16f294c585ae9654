"""The container entrypoint (ECS and EKS run the same image; RUNTIME tells them apart).

    uvicorn clean_shop.entrypoints.server:app      # what `make run STAGE=clean` serves
    python -m clean_shop.entrypoints.server        # HOST/PORT, default 0.0.0.0:8080

The app is composed at import time: a missing setting stops the process before it accepts traffic,
so a bad deployment fails its health check instead of failing requests.
"""

from __future__ import annotations

import uvicorn

from clean_shop.bootstrap import listen_address
from clean_shop.entrypoints.startup import app_or_exit

app = app_or_exit()


def main() -> None:
    host, port = listen_address()
    uvicorn.run(app, host=host, port=port)


if __name__ == "__main__":
    main()

"""Function containers reach this moto as Lambda functions reach AWS (the model loader reads S3).

moto runs each Invoke's container on Docker's bridge network and gives it
AWS_ENDPOINT_URL=http://host.docker.internal:<port>, but the sandbox's moto listens on 127.0.0.1
only (it is nobody else's business on the machine), which the bridge cannot reach. Here the
containers share the host's network (MOTO_DOCKER_NETWORK_MODE=host, unless set otherwise) and
their endpoint is http://127.0.0.1:<port>.
"""
from __future__ import annotations

import os

from moto import settings


def apply() -> None:
    os.environ.setdefault("MOTO_DOCKER_NETWORK_MODE", "host")
    if os.environ["MOTO_DOCKER_NETWORK_MODE"] == "host":
        settings.moto_server_host = lambda: "http://127.0.0.1"

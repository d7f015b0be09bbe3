"""``[core] hostname_callable`` for the distributed tests: each component reports the name it was
started as (``worker-1``, ``triggerer-2``, ...), so the REST API says which one ran a task or a
trigger (on one machine they would all be the same host)."""

from __future__ import annotations

import os
import socket


def component_hostname() -> str:
    return os.environ.get("PAI_TEST_COMPONENT") or socket.getfqdn()

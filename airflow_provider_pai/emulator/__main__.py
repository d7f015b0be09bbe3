"""``python -m airflow_provider_pai.emulator --scenario FILE --port 0 --data-dir DIR [--host 127.0.0.1]``

Prints ``PAI_EMULATOR_URL=http://127.0.0.1:<port>`` on a line of its own once requests are accepted.
Needs the ``[emulator]`` extra (``pip install 'airflow-provider-pai[emulator]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import resource
import sys

from .scenario import DEMO_SCENARIO, MissingExtraError, load_scenario, require_extra


def loopback_host(host: str) -> str:
    """``host`` if it is a loopback address; the emulator must never be reachable from outside."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise SystemExit(f"--host must be a loopback address such as 127.0.0.1, got {host!r}")


def raise_fd_limit() -> None:
    """1,000 concurrent clients need more than the common soft limit of 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_pai.emulator", description=__doc__)
    parser.add_argument("--scenario", default=str(DEMO_SCENARIO), help="scenario YAML or JSON (default: demo)")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--data-dir", required=True, help="state survives restarts here")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    host = loopback_host(args.host)
    try:
        require_extra()  # aiohttp and pyyaml come with the [emulator] extra, not with the provider
    except MissingExtraError as exc:
        raise SystemExit(f"error: {exc}") from None
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    raise_fd_limit()
    from .server import serve_forever  # after argument checks, which need no aiohttp
    from .state import open_ctx

    ctx = open_ctx(load_scenario(args.scenario), args.data_dir)
    url_host = f"[{host}]" if ":" in host else host

    def ready(url: str) -> None:
        port = url.rsplit(":", 1)[1]
        print(f"PAI_EMULATOR_URL=http://{url_host}:{port}", flush=True)

    asyncio.run(serve_forever(ctx, host, args.port, on_ready=ready))


if __name__ == "__main__":
    main()

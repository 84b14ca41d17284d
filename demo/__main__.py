"""``python -m demo [--host H] [--port P]``: serve the demo with uvicorn.

The port is ``--port``, else ``DEMO_PORT``, else 8000 (``make demo PORT=8123`` passes
``--port``); the host likewise ``--host``, ``DEMO_HOST``, 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

import uvicorn

from demo.settings import DEFAULT_HOST, env_port, min_interval_seconds, parse_port


def port_argument(value: str) -> int:
    try:
        return parse_port(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError:
            return True
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m demo", description="Serve the fastapi-password-reset demo."
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("DEMO_HOST") or DEFAULT_HOST,
        help="address to listen on (DEMO_HOST, default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=port_argument,
        default=None,
        help="port to listen on (DEMO_PORT, default 8000; `make demo PORT=8123`)",
    )
    args = parser.parse_args(argv)
    try:
        port = args.port if args.port is not None else env_port()
        min_interval_seconds()
    except ValueError as exc:
        parser.error(str(exc))
    if port_in_use(args.host, port):
        print(
            f"Port {port} on {args.host} is taken. Choose another: `make demo PORT=8123`, "
            f"`python -m demo --port 8123` or DEMO_PORT=8123.",
            file=sys.stderr,
        )
        sys.exit(1)
    url = f"http://{args.host}:{port}"
    os.environ.setdefault("DEMO_PUBLIC_URL", url)
    from demo.app import code_store, token_store  # descriptions of REDIS_URL hide its password

    print(f"Demo on {url}/ (API docs at {url}/docs; reset tokens: {token_store}).")
    print(f'Reset codes ("Send me a code instead", /auth/code): {code_store}.')
    print("Reset mails, with a link or a code, appear at /outbox and below.", flush=True)
    uvicorn.run("demo.app:app", host=args.host, port=port)


if __name__ == "__main__":
    main()

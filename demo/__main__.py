"""``python -m demo [--host H] [--port P]``: serve the demo with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fastapi-password-reset demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    os.environ.setdefault("DEMO_PUBLIC_URL", f"http://{args.host}:{args.port}")
    from demo.app import token_store

    url = f"http://{args.host}:{args.port}"
    print(f"Demo on {url}/ (API docs at {url}/docs; reset tokens: {token_store}).")
    print("Reset mails appear at /outbox and below.", flush=True)
    uvicorn.run("demo.app:app", host=args.host, port=args.port)


if __name__ == "__main__":
    main()

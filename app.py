"""Serve the assistant's web page.

    python app.py [--host HOST] [--port PORT]

Defaults come from the settings (CART_HOST, CART_PORT: 127.0.0.1:7860). At start the
assistant is built once and asked one question, which loads the embedding model. If that
fails because there is no index yet or the Chroma server cannot be reached, one line on
stderr says how to fix it and the page is served anyway: it shows the same message, and
the next question tries again, so running `python ingest.py` (or starting Chroma) is
enough, with no restart. GET /healthz answers {"status": "ok"|"error", "detail": ...}.
Exit codes: 0 after a normal stop, 2 for a usage error (bad flag or setting).
"""

from __future__ import annotations

import argparse
import sys

from assistant.errors import AssistantError, UsageError
from assistant.settings import load_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", help="address to bind (default: settings, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: settings, 7860)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = load_settings(**overrides)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code

    import uvicorn

    from assistant.webapp import build_server

    server = build_server(settings)
    try:
        # One question at start loads the embedding model, so the first visitor does not wait.
        server.state.holder.get().ask("What is CAR-T therapy?", audience="patient")
    except AssistantError as exc:
        print(f"error: {exc} (serving the page anyway; it retries on the next question)", file=sys.stderr)
    print(f"Serving the CAR-T assistant on http://{settings.host}:{settings.port}", flush=True)
    # An open page keeps a heartbeat stream open; without a limit, a stop (SIGTERM) would wait
    # for every visitor to close their tab.
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning",
                timeout_graceful_shutdown=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the sandbox: ``python -m sandbox`` (``SANDBOX_HOST``, ``SANDBOX_PORT``)."""

from __future__ import annotations

import os

from sandbox import create_app


def main() -> None:
    """Serve the sandbox, threaded, in this one process (its state is in memory)."""
    host = os.environ.get("SANDBOX_HOST", "127.0.0.1")
    port = int(os.environ.get("SANDBOX_PORT", "5001"))
    create_app().run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

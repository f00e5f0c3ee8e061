"""The ``portal`` command: serve, worker, migrate, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys

from app.config import ROOT, Config


def _serve(args: argparse.Namespace) -> None:
    hypercorn = shutil.which("hypercorn") or os.path.join(
        os.path.dirname(sys.executable), "hypercorn"
    )
    argv = [
        hypercorn,
        "--config",
        str(ROOT / "hypercorn.toml"),
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "app.asgi:app",
    ]
    if args.quiet:
        argv[1:1] = ["--access-logfile", "/dev/null"]
    os.chdir(ROOT)
    os.execv(hypercorn, argv)


async def _worker() -> None:
    """Run until SIGINT or SIGTERM, then finish the current tick and close the database."""
    from app.worker import run_forever
    from models.db import close_db, init_db

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = Config.from_env()
    await init_db(config.database_url)
    try:
        await run_forever(stop, config)
    finally:
        await close_db()
    logging.getLogger("portal.worker").info("worker stopped")


async def _migrate() -> None:
    from models.db import migrate_db

    await migrate_db(Config.from_env().database_url)
    print("migrations applied")


async def _demo() -> None:
    from models.db import close_db, init_db
    from models.demo import seed_demo

    await init_db(Config.from_env().database_url)
    try:
        print(await seed_demo())
    finally:
        await close_db()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="portal", description="Therapy client portal")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web app with hypercorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--quiet", action="store_true", help="no access log")
    sub.add_parser("worker", help="run the background worker")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo", help="seed the demo practice (idempotent)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args)
    elif args.command == "worker":
        asyncio.run(_worker())
    elif args.command == "migrate":
        asyncio.run(_migrate())
    elif args.command == "demo":
        asyncio.run(_demo())


if __name__ == "__main__":
    main()

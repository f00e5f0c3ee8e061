"""The ``portal`` command: serve, worker, migrate, demo, audit verify."""

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


def _config() -> Config:
    """The configuration, with the audit chain's key set for this process."""
    from models import audit

    config = Config.from_env()
    audit.configure(config.audit_key)
    return config


async def _worker() -> None:
    """Run until SIGINT or SIGTERM, then finish the current tick and close the database."""
    from app.worker import run_forever
    from models.db import close_db, init_db

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = _config()
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

    config = _config()
    await init_db(config.database_url)
    try:
        print(await seed_demo("stripe" if config.stripe_live else "demo"))
        from channels.form_pdfs import render_missing  # the signed demo forms' PDFs

        await render_missing(config.data_dir)
    finally:
        await close_db()


async def _audit_verify(batch: int) -> int:
    """Recompute the audit chain; 0 when intact, 1 at the first broken event."""
    from models.audit import verify_chain
    from models.db import close_db, init_db

    await init_db(_config().database_url)
    try:
        result = await verify_chain(batch=batch)
    finally:
        await close_db()
    print(result.message())
    return 0 if result.ok else 1


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
    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check the audit hash chain (exit 1 at the first broken event)"
    )
    verify.add_argument("--batch", type=int, default=5000, help="rows read per query")
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args)
    elif args.command == "worker":
        asyncio.run(_worker())
    elif args.command == "migrate":
        asyncio.run(_migrate())
    elif args.command == "demo":
        asyncio.run(_demo())
    elif args.command == "audit":
        sys.exit(asyncio.run(_audit_verify(args.batch)))


if __name__ == "__main__":
    main()

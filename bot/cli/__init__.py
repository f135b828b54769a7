"""The `villagebot` command: serve, demo, init-db, import, outbox, run-job.

Only the parser lives here, so `villagebot --help` starts at once: each verb imports what it
needs (the settings, the database, the app, jieba) when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USAGE = 2
OUTBOX_STATUSES = ("pending", "sent", "dead", "merged")  # storage.models.OutboxStatus


class Refusal(Exception):
    """Stop with this message and exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="villagebot", description="Digital village governance in the group chats."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str, *, demo: bool = True) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
        if demo:
            p.add_argument(
                "--demo", action="store_true", help="on the database of `villagebot demo`"
            )
        return p

    verb("serve", "Run the bot (HTTP callbacks, simulator if configured).")
    demo = verb(
        "demo", "Run on embedded defaults with the demo registry and the simulator.", demo=False
    )
    demo.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    demo.add_argument(
        "--host",
        help="address to listen on (default: [server] host); off loopback it needs [sim] token",
    )
    verb("init-db", "Create or upgrade the database schema to the current version.")
    imp = verb("import", "Import the registry (org tree, people, groups) from a YAML file.")
    imp.add_argument("file", type=Path, metavar="FILE")
    box = verb("outbox", "List waiting or dead pushes, or send dead ones again.")
    box.add_argument("action", choices=["list", "retry"], help="list, or retry dead pushes")
    box.add_argument("ids", nargs="*", type=int, metavar="ID", help="rows to retry (default all)")
    box.add_argument("--status", choices=OUTBOX_STATUSES, default="dead", help="for list")
    export = verb("export", "Write what cadres corrected (改类) as corpus rows, CSV.")
    export.add_argument("kind", choices=["corrections"], help="what to export")
    job = verb("run-job", "Run one scheduler sweep now (as if at --at).")
    job.add_argument("name", nargs="?", metavar="NAME")
    job.add_argument("--at", metavar="ISO-8601", help="pretend the clock reads this time")
    job.add_argument("--list", action="store_true", help="list the sweeps")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic tells at INFO what it looks at on every connection; storage.migrate says in
    # one line when a migration actually runs.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.config import ConfigError

    try:
        _run(args)
    except (ConfigError, Refusal) as exc:
        print(f"villagebot {args.verb}: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    return 0


def _run(args: argparse.Namespace) -> None:
    if args.verb == "run-job" and (args.list or args.name is None) and args.at is None:
        from bot.cli.database import list_jobs

        list_jobs()  # needs no settings
        return
    from bot.cli.settings import load_settings

    settings = load_settings(args.config)
    if args.verb in ("serve", "demo"):
        from bot.cli import serving

        if args.verb == "serve":
            serving.serve(settings, demo=args.demo)
        else:
            serving.demo(settings, args.port, args.host)
        return
    from bot.cli import database

    database.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())

"""``govhub`` command line: run the embedded hub, serve, migrate, seed, manage nodes and keys.

``python -m bff.cli run`` is what ``make run`` calls: migrate, seed the demo data, start the mock
WeChat/Alipay servers and the hub, and print where the API docs are.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import urllib.request
from functools import partial
from pathlib import Path

from bff import database
from bff import partitions_cli as partitions_commands
from bff import sharing_cli as sharing_commands
from bff.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="govhub", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed, start the mock servers and the hub (embedded default)")
    sub.add_parser("serve", help="start the hub only")
    sub.add_parser("migrate", help="alembic upgrade head")
    sub.add_parser("seed", help="load the demo data (idempotent)")
    nodes = sub.add_parser("nodes", help="the registry of departments and provincial platforms")
    node_cmd = nodes.add_subparsers(dest="node_command", required=True)
    add = node_cmd.add_parser("add")
    add.add_argument("--code", required=True)
    add.add_argument("--kind", required=True, choices=["department", "province"])
    add.add_argument("--name", required=True)
    add.add_argument("--region", required=True, help="12-digit region code")
    add.add_argument("--public-key", required=True, type=Path, help="PEM file, EC P-256")
    add.add_argument("--endpoint", help="where the hub delivers to the node (docs/delivery.md)")
    for verb in ("disable", "enable"):
        node_cmd.add_parser(verb).add_argument("code")
    set_endpoint = node_cmd.add_parser("set-endpoint", help="where the hub delivers to a node ('' clears it)")
    set_endpoint.add_argument("code")
    set_endpoint.add_argument("url")
    node_cmd.add_parser("list")
    keys = sub.add_parser("keys", help="token signing keys")
    keys.add_subparsers(dest="key_command", required=True).add_parser("rotate")
    regions = sub.add_parser("regions", help="administrative divisions (docs/regions.md)")
    regions_import = regions.add_subparsers(dest="regions_command", required=True).add_parser(
        "import", help="load a national list from CSV (code,name,parent); idempotent")
    regions_import.add_argument("file", type=Path)
    regions_import.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                                help="progress bar (default: when standard error is a terminal)")
    _add_catalog_parser(sub)
    _add_admin_parser(sub)
    _add_seals_parser(sub)  # seals and licenses
    sharing_commands.add_parser(sub)  # data sharing
    partitions_commands.add_parser(sub)  # month partitions on PostgreSQL
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"govhub: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](settings, args)


def _migrate(settings: Settings, args=None) -> int:
    database.migrate(settings.database_url)
    print("schema migrated to head")
    return 0


def _seed(settings: Settings, args=None) -> int:
    from bff.seed import seed_demo

    asyncio.run(_with_hub(settings, seed_demo))
    return 0


def _serve(settings: Settings, args=None) -> int:
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from bff.app import create_app

    if not settings.redis_url and settings.workers > 1:
        print("govhub: the embedded Redis substitute lives in one process; set GOVHUB_REDIS_URL "
              "to run several workers", file=sys.stderr)
        return 2
    _allow_worker_starts(settings.worker_start_seconds)
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers, access_log=False,
                single_process=settings.workers == 1, motd=False)
    Sanic.serve(primary=app, app_loader=loader)
    return 0


def _allow_worker_starts(seconds: int) -> None:
    """Sanic's process manager shuts the whole server down when a worker has not started within 30 s
    (counted in polls of 0.1 s, a class attribute it offers no setting for)."""
    from sanic.worker.manager import WorkerManager
    from sanic.worker.process import WorkerProcess

    WorkerManager.THRESHOLD = WorkerProcess.THRESHOLD = max(1, int(seconds * 10))


def _run(settings: Settings, args=None) -> int:
    _migrate(settings)
    if settings.seed_demo:
        _seed(settings)
    mock = _start_mock(settings) if settings.mock_enabled else None
    # delivery: the department stub beside the mock servers
    stub = _start_department_stub(settings) if settings.mock_enabled else None
    print(f"\n  govhub hub:        http://{settings.host}:{settings.port}")
    print(f"  API docs:          http://{settings.host}:{settings.port}/docs  (OpenAPI: /openapi.json)")
    if mock:
        print(f"  mock WeChat/Alipay: {settings.mock_url}  (try: python -m miniprogram_mock journey login --channel wechat)")
    # delivery: where the stub listens
    if stub:
        print(f"  department stub:   {_department_stub_url(settings)}  (received: /_stub/deliveries)")
    print(flush=True)
    try:
        return _serve(settings)
    finally:
        for process in (mock, stub):
            if process:
                process.terminate()
                process.wait(timeout=10)


def _start_mock(settings: Settings) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "miniprogram_mock", "serve", "--host", settings.mock_host,
                                "--port", str(settings.mock_port)])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{settings.mock_url}/_mock/health", timeout=1)
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("govhub: the mock servers did not start (is the port taken?)")
            time.sleep(0.2)
    return process


# delivery: the department stub (adapters/departments/stub, docs/delivery.md)
def _department_stub_url(settings: Settings) -> str:
    from adapters.departments.stub import stub_url

    return stub_url(settings.mock_host, settings.stub_port)


def _start_department_stub(settings: Settings) -> subprocess.Popen | None:
    """The stub plays every demo node's department (``govhub seed`` points them at it) and calls
    the hub back. A process like the mock; it fetches the hub's key from the hub. What it
    received is kept in a file beside the embedded database, so a restart still dedupes."""
    url = _department_stub_url(settings)
    db = (str(Path(database.sqlite_path(settings.database_url)).parent / "department_stub.sqlite3")
          if settings.database_url.startswith("sqlite://") else ":memory:")
    process = subprocess.Popen([sys.executable, "-m", "adapters.departments.stub", "--host", settings.mock_host,
                                "--port", url.rsplit(":", 1)[1], "--hub-url",
                                f"http://{settings.host}:{settings.port}", "--db", db])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stub/health", timeout=1)
            return process
        except OSError:
            if process.poll() is not None:
                print(f"govhub: the department stub did not start at {url} (port taken?); deliveries "
                      "will wait and retry", file=sys.stderr)
                return None
            time.sleep(0.2)
    return process


def _nodes(settings: Settings, args) -> int:
    async def act(hub):
        registry = hub.nodes
        if args.node_command == "add":
            node = await registry.register(code=args.code, kind=args.kind, name=args.name,
                                           region_code=args.region, public_key_pem=args.public_key.read_text(),
                                           endpoint_url=args.endpoint)
            print(f"registered {node.code}")
        elif args.node_command == "set-endpoint":
            node = await registry.set_endpoint(code=args.code, endpoint_url=args.url or None)
            print(f"{node.code} delivers to {node.endpoint_url or '(nowhere)'}")
        elif args.node_command in ("disable", "enable"):
            await registry.set_status(code=args.code, status="disabled" if args.node_command == "disable" else "active")
            print(f"{args.code}: {args.node_command}d")
        else:
            for node in await registry.list():
                print(f"{node.code}\t{node.kind}\t{node.region_code}\t{node.status}\t{node.name}"
                      f"\t{node.endpoint_url or '-'}")

    from domain.shared.errors import DomainError

    try:
        asyncio.run(_with_hub(settings, act))
    except DomainError as exc:  # a bad URL, an unknown code: said plainly, not as a traceback
        print(f"govhub: {exc.detail}", file=sys.stderr)
        for problem in exc.extra.get("errors", []):
            print(f"  {problem['field']}: {problem['message']}", file=sys.stderr)
        return 1
    return 0


def _keys(settings: Settings, args) -> int:
    async def act(hub):
        key = await hub.tokens.rotate_key()
        print(f"new signing key: {key}")

    asyncio.run(_with_hub(settings, act))
    return 0


def _regions(settings: Settings, args) -> int:
    """Exit 0 when the file was read to its end (rejected rows are listed, not fatal), 1 when it
    could not be read — as ``govhub catalog import``."""
    from bff.region_import import import_regions, print_report

    if not args.file.is_file():
        print(f"govhub: no such file: {args.file}", file=sys.stderr)
        return 1
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    report = asyncio.run(_with_hub(
        settings, lambda hub: import_regions(hub, args.file, progress=progress)))
    print_report(report)
    return 0


def _add_catalog_parser(sub) -> None:
    catalog = sub.add_parser("catalog", help="the service catalog (docs/catalog-import.md)")
    catalog_import = catalog.add_subparsers(dest="catalog_command", required=True).add_parser(
        "import", help="load matters from JSONL or CSV (any size, idempotent by code)")
    catalog_import.add_argument("file", help="a .jsonl or .csv file, or - for standard input")
    catalog_import.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file's extension")
    catalog_import.add_argument("--batch-size", type=int, default=2000)
    catalog_import.add_argument("--rejects", type=Path, help="also write rejected rows here (JSONL: line, reason)")
    catalog_import.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                                help="progress bar (default: when standard error is a terminal)")


def _catalog(settings: Settings, args) -> int:
    """Exit 0 when the file was read to its end (rejected rows are reported, not fatal), 1 when
    it could not be read."""
    from bff.catalog_import import open_source, run_import
    from domain.catalog.importer import ImportFileError, detect_format

    try:
        fmt = detect_format(args.file, args.format)
        source, size = open_source(args.file)
    except (ImportFileError, OSError) as exc:
        print(f"govhub: {exc}", file=sys.stderr)
        return 1
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        with source:
            report = asyncio.run(_with_hub(settings, lambda hub: run_import(
                hub.catalog, source, fmt=fmt, total_bytes=size, batch_size=args.batch_size,
                rejects_path=args.rejects, progress=progress)))
    except (ImportFileError, OSError) as exc:
        print(f"govhub: {exc}", file=sys.stderr)
        return 1
    print(f"catalog import: {report}")
    return 0


# admin: console accounts
def _add_admin_parser(sub) -> None:
    admin = sub.add_parser("admin", help="console accounts of product teams and operators (docs/admin.md)")
    create = admin.add_subparsers(dest="admin_command", required=True).add_parser(
        "create", help="create an account (e.g. the first operator)")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name", help="default: the username")
    create.add_argument("--roles", required=True, help="comma-separated: topic_editor, catalog_admin, operator")
    create.add_argument("--password-stdin", action="store_true", required=True,
                        help="read the password from standard input (a command line shows in ps and shell history)")


def _admin(settings: Settings, args) -> int:
    from domain.audit.service import CLI
    from domain.shared.errors import DomainError

    password = sys.stdin.readline().rstrip("\r\n")
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]

    async def act(hub):
        return await hub.admin_accounts.create(
            actor=CLI, username=args.username, display_name=args.display_name or args.username,
            password=password, roles=roles)

    try:
        view = asyncio.run(_with_hub(settings, act))
    except DomainError as exc:
        print(f"govhub: {exc.detail}", file=sys.stderr)
        for problem in exc.extra.get("errors", []):
            print(f"  {problem['field']}: {problem['message']}", file=sys.stderr)
        return 1
    print(f"created {view.username} ({', '.join(view.roles)})")
    return 0


async def _with_hub(settings: Settings, action):
    from bff.container import build_hub, close_hub  # here, as bff.app above: `govhub --help` stays quick

    hub = await build_hub(settings)
    try:
        return await action(hub)
    finally:
        await close_hub(hub)


COMMANDS = {"run": _run, "serve": _serve, "migrate": _migrate, "seed": _seed, "nodes": _nodes, "keys": _keys,
            "regions": _regions}
COMMANDS["catalog"] = _catalog
COMMANDS["admin"] = _admin


# seals and licenses: the seal registry (docs/seals.md)
def _add_seals_parser(sub) -> None:
    seals = sub.add_parser("seals", help="departments' electronic seals (docs/seals.md)")
    seal_cmd = seals.add_subparsers(dest="seal_command", required=True)
    create = seal_cmd.add_parser("create", help="make a seal's key pair (the private key stays sealed in the hub)")
    create.add_argument("--code", required=True)
    create.add_argument("--department", required=True, help="department code, e.g. 110000-public_security")
    create.add_argument("--node", required=True, help="the node that may seal with it")
    create.add_argument("--name", required=True)
    create.add_argument("--algorithm", default="SM2-SM3", choices=["SM2-SM3", "ES256"])
    create.add_argument("--valid-days", type=int, default=365 * 5)
    create.add_argument("--license-type", action="append", dest="license_types", metavar="TYPE",
                        help="a license type it may sign (repeat); default: every type its department kind issues")
    seal_cmd.add_parser("revoke").add_argument("code")
    seal_cmd.add_parser("list")
    seal_cmd.add_parser("anchor", help="the trust anchor's fingerprint, for verifiers to pin")


def _seals(settings: Settings, args) -> int:
    async def act(hub):
        seals = hub.seals
        if args.seal_command == "create":
            department = await hub.regions.department(args.department)
            seal = await seals.create(code=args.code, department_code=department.code,
                                      department_kind=department.kind, node_code=args.node, name=args.name,
                                      algorithm=args.algorithm, valid_days=args.valid_days,
                                      license_types=args.license_types)
            print(f"created {seal.code} ({seal.algorithm}, key id {seal.key_id}) for "
                  f"{','.join(seal.license_types) or 'no license type'}")
        elif args.seal_command == "revoke":
            seal = await seals.revoke(code=args.code)
            print(f"revoked {seal.code} at {seal.revoked_at.isoformat()}")
        elif args.seal_command == "anchor":
            seal = await seals.ensure_platform_seal()
            print(f"{seal.code}\tkey id {seal.key_id}\tfingerprint {seal.fingerprint}")
        else:
            for seal in await seals.list():
                print(f"{seal.code}\t{seal.department_code}\t{seal.node_code}\t{seal.algorithm}\t{seal.key_id}"
                      f"\t{seal.status}\t{','.join(seal.license_types) or '-'}")

    from domain.shared.errors import DomainError

    try:
        asyncio.run(_with_hub(settings, act))
    except DomainError as exc:
        print(f"govhub: {exc.detail}", file=sys.stderr)
        for problem in exc.extra.get("errors", []):
            print(f"  {problem['field']}: {problem['message']}", file=sys.stderr)
        return 1
    return 0


COMMANDS["seals"] = _seals


COMMANDS["sharing"] = partial(sharing_commands.run, with_hub=_with_hub)  # data sharing: the message log
COMMANDS["partitions"] = partial(partitions_commands.run, with_hub=_with_hub)  # month partitions (PostgreSQL)

if __name__ == "__main__":
    raise SystemExit(main())

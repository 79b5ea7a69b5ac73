"""``python -m miniprogram_mock serve`` runs the mock; ``... journey login`` walks a citizen journey."""

from __future__ import annotations

import argparse
import json
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m miniprogram_mock")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the fake WeChat/Alipay platforms and SMS sink")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    journey = commands.add_parser("journey", help="walk a scripted citizen journey against the hub")
    journey.add_argument("name", choices=["login", "licenses", "apply", "instant",  # apply, instant: notifications
                                          "fund",  # housing fund: withdraw with a face scan
                                          "newborn",  # bundles: the newborn bundle, both parents
                                          "data-sharing",  # a department asks, is granted, calls; the tracker
                                          "health-code"])  # declare, Zhejiang's code, checked offline in Beijing
    journey.add_argument("--channel", choices=["wechat", "alipay", "app"], default="wechat")
    journey.add_argument("--base-url", default="http://127.0.0.1:8000", help="the hub")
    journey.add_argument("--mock-url", default="http://127.0.0.1:8001", help="this mock")
    journey.add_argument("--user", default="alice")
    return parser


def serve(host: str, port: int) -> None:
    from miniprogram_mock.server import create_mock_app

    app = create_mock_app()
    # One process: the mock keeps its state in memory, and starts in well under a second.
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)


def journey(args: argparse.Namespace) -> int:
    from miniprogram_mock.journey import JourneyFailed, run_login_journey

    try:
        if args.name == "licenses":  # seals and licenses: issue -> wallet -> show -> verify offline
            from miniprogram_mock.license_journey import run_license_journey

            run_license_journey(args.base_url, args.mock_url, user=args.user)
        elif args.name in ("apply", "instant"):  # notifications: apply -> messages; 秒批 end to end
            from miniprogram_mock import application_journey

            walk = {"apply": application_journey.run_apply_journey,
                    "instant": application_journey.run_instant_journey}[args.name]
            walk(args.base_url, args.mock_url, user=args.user)
        elif args.name == "fund":  # housing fund: log in -> real name -> face -> withdraw -> paid
            from miniprogram_mock.fund_journey import run_fund_journey

            run_fund_journey(args.base_url, args.mock_url, user=args.user)
        elif args.name == "data-sharing":  # data sharing: ask -> approve -> exchange call -> tracker
            from miniprogram_mock.sharing_journey import run_sharing_journey

            run_sharing_journey(args.base_url, args.mock_url, user=args.user)
        elif args.name == "health-code":  # health codes: declare -> code -> checked offline elsewhere
            from miniprogram_mock.health_journey import run_health_journey

            run_health_journey(args.base_url, args.mock_url, user=args.user)
        elif args.name == "newborn":  # bundles: one form, the other parent confirms, every step done
            from miniprogram_mock.bundle_journey import run_newborn_journey

            run_newborn_journey(args.base_url, args.mock_url, mother=args.user)
        else:
            run_login_journey(args.channel, args.base_url, args.mock_url, user=args.user)
    except JourneyFailed as failed:
        print(f"FAILED at step {failed.step} ({failed.what}): HTTP {failed.status}", file=sys.stderr)
        print(json.dumps(failed.problem, ensure_ascii=False, indent=2), file=sys.stderr)
        return 1
    print("journey completed")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        serve(args.host, args.port)
        return 0
    return journey(args)


if __name__ == "__main__":
    sys.exit(main())

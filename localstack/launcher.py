"""Run the LocalStack tier without Docker, in the foreground (``make localstack``).

    python localstack/launcher.py              # LocalStack :4566, DynamoDB Local :8001, Redis :6379
    python localstack/launcher.py --install    # only install (LocalStack venv, DynamoDB Local)

Ports come from ``LOCALSTACK_PORT``, ``DYNAMODB_PORT`` and ``REDIS_PORT`` (or the options);
``--no-redis`` leaves Redis to someone else. Ctrl-C or SIGTERM stops every child process.
The work is done by ``localdev/localstack_tier.py``; this file is only the command line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localdev.localstack_tier import LocalStackTier, TierPorts, ensure_installed


class _Stop(Exception):
    """Raised by the signal handler to leave the wait loop."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    defaults = TierPorts.from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install only, then exit")
    parser.add_argument("--port", type=int, default=defaults.gateway, help="LocalStack gateway")
    parser.add_argument("--dynamodb-port", type=int, default=defaults.dynamodb)
    parser.add_argument("--redis-port", type=int, default=defaults.redis)
    parser.add_argument("--no-redis", action="store_true", help="do not start a redis-server")
    parser.add_argument(
        "--ephemeral", action="store_true", help="delete the state and logs when stopped (tests)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the tier, print its addresses, wait for a signal, stop everything."""
    args = _parse(argv)
    if args.install:
        started = time.monotonic()
        ensure_installed()
        print(f"LocalStack tier installed ({time.monotonic() - started:.0f} s)", flush=True)
        return 0
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ports = TierPorts(args.port, args.dynamodb_port, args.redis_port)
    tier = LocalStackTier(ports, start_redis=not args.no_redis, ephemeral=args.ephemeral)
    try:
        started = time.monotonic()
        print("starting LocalStack, DynamoDB Local and redis-server ...", flush=True)
        created = tier.start()
        print(f"ready in {time.monotonic() - started:.0f} s; resources: {json.dumps(created)}")
        for name, value in tier.app_env().items():
            if not name.startswith("AWS_SECRET"):
                print(f"  {name}={value}")
        print("Ctrl-C stops everything.", flush=True)
        while tier.alive():
            time.sleep(1)
        print("a tier process exited; stopping the rest", file=sys.stderr)
        return 1
    except _Stop as stop:
        print(f"\n{stop}: stopping ...", flush=True)
        return 0
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"the LocalStack tier could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        tier.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

"""`aihub serve`: the laptop server (imported only by that command: uvicorn is heavy)."""
from __future__ import annotations

import argparse
import errno
import os
import secrets
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess

from chalicelib.config import Settings, from_env, secret_file, settings


def ensure_secret() -> Settings:
    """On a laptop without AIHUB_SECRET, make one once and keep it beside the database (0600)."""
    cfg = settings()
    if cfg.secret:
        return cfg
    path = secret_file(cfg.db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    print(f"No AIHUB_SECRET set: generated one in {path} to encrypt provider credentials.")
    settings.cache_clear()
    return settings()


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound and listening before uvicorn starts, so a busy port is one line, not a traceback."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        why = "is already in use (another aihub?)" if error.errno == errno.EADDRINUSE else f"cannot be used: {error.strerror}"
        raise SystemExit(f"aihub: {host}:{port} {why}; stop it, or pick another port with --port or AIHUB_PORT.")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Announcing(uvicorn.Server):
    """Prints the URL once the app has started and the socket serves it."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self.banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.banner:
            print(self.banner, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from chalicelib.observability.logs import uvicorn_config
    from chalicelib.store import keys
    from chalicelib.store.shared import store

    refused = from_env().admin_key_error  # before settings(), which would log it as ignored
    if refused:
        print(f"aihub: {refused}", file=sys.stderr)
        return 2
    cfg = ensure_secret()
    host, port = args.host or cfg.host, args.port or cfg.port
    sock = listening_socket(host, port)
    db = store()  # creates and migrates the database
    if not cfg.admin_key and not keys.has_admin_key(db):
        _, raw = keys.create_key(db, name="bootstrap admin", role="admin")
        print("No admin key yet: created one. It is shown this once; keep it safe:")
        print(f"  AIHUB admin key: {raw}")
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker is a process with its own counters: they share a directory, and a scrape
        # of any worker sums them (chalicelib/observability/prom.py). Set before workers start.
        import tempfile

        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="aihub-metrics-")
    banner = (f"aihub serving on http://{host}:{sock.getsockname()[1]} "
              f"(database {cfg.db_path}, billing {'on' if cfg.billing else 'off'})")
    config = uvicorn.Config(
        "chalicelib.fronts.asgi_front:create_app",
        factory=True,
        workers=args.workers,
        http="httptools",
        access_log=False,  # aihub's own JSON access line instead (AIHUB_ACCESS_LOG)
        log_level=args.log_level,
        log_config=uvicorn_config(args.log_level),
        timeout_graceful_shutdown=5,
    )
    try:
        if args.workers > 1:
            print(banner, flush=True)  # the socket listens: the kernel queues calls until a worker takes them
            Multiprocess(config, sockets=[sock]).run()
        else:
            server = Announcing(config, banner)
            server.run(sockets=[sock])
            if not server.started:
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0

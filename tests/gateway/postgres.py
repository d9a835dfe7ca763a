"""A throwaway PostgreSQL server on 127.0.0.1, from Debian's postgresql packages."""

from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "glm"
DATABASE = "glm_test"
# The Debian package creates this account; the server refuses to run as root.
SYSTEM_USER = "postgres"
INSTALL_HINT = "apt-get install -y postgresql"

# A test server holds nothing worth keeping, so durability is traded for speed.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",
    "jit": "off",
    "shared_buffers": "32MB",
    "max_connections": "50",
    "huge_pages": "off",
    "ssl": "off",
    "password_encryption": "scram-sha-256",
}

INITDB_OPTIONS = [
    *("--username", SUPERUSER, "--encoding", "UTF8", "--locale", "C"),
    # The unix socket lives in a private folder, so trusting it lets only this account in.
    *("--auth-local", "trust", "--auth-host", "scram-sha-256"),
    *("--wal-segsize", "1", "--no-sync"),
]

# Room for a few clusters of about 40 MB each and the WAL their tests write.
MIN_FREE_BYTES = 1 << 30

_template_lock = threading.Lock()
_template: Path | None = None


def find_bindir() -> Path:
    """Return the bin folder of the newest PostgreSQL server Debian installed."""
    found = [
        initdb.parent
        for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if os.access(initdb, os.X_OK) and (initdb.parent / "pg_ctl").exists()
    ]
    if not found:
        raise RuntimeError(
            "No PostgreSQL server found (/usr/lib/postgresql/*/bin/initdb is missing); "
            f"install Debian's with: {INSTALL_HINT}"
        )
    return max(found, key=lambda bindir: _version_key(bindir.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    """Order folder names such as 9.6, 15 and 16 by version rather than as text."""
    return tuple(int(part) for part in re.findall(r"\d+", name))


def _as_root() -> bool:
    """Tell whether commands must be handed to the postgres account."""
    return os.geteuid() == 0


def _base_dir() -> str:
    """Pick the folder that the clusters' temp folders go in."""
    # Memory-backed /dev/shm creates the cluster's thousand-odd files several times faster
    # than a busy disk; Docker's default 64 MB one is too small, hence the size check.
    for candidate in ("/dev/shm", "/tmp"):
        writable = os.access(candidate, os.W_OK | os.X_OK)
        if writable and shutil.disk_usage(candidate).free >= MIN_FREE_BYTES:
            return candidate
    return "/tmp"


def _make_dir(prefix: str) -> Path:
    """Make a private temp folder that the server's account owns."""
    # Not under the caller's workdir: pytest's root-owned 0700 folders keep the postgres account
    # out, and a short path keeps the unix socket under its 107-byte limit.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=_base_dir()))
    if _as_root():
        account = pwd.getpwnam(SYSTEM_USER)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def _run(args: Sequence[str | Path], cwd: Path, stdin: str | None = None) -> str:
    """Run a tool as the server's account and return its output, raising if it fails."""
    command = [str(arg) for arg in args]
    if _as_root():
        command = ["runuser", "-u", SYSTEM_USER, "--", *command]
    # The caller's PG* variables would point the tools at some other server.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    result = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout + result.stderr


def _check_account() -> None:
    """Fail clearly where root has no postgres account to hand the server to."""
    if not _as_root():
        return
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"Running as root needs the {SYSTEM_USER!r} account that Debian's package creates; "
            f"install it with: {INSTALL_HINT}"
        ) from None


def _template_cluster(bindir: Path) -> Path:
    """Return a data folder initialised once per process, for each server to start from a copy."""
    global _template
    with _template_lock:
        if _template is None:
            root = _make_dir("glm-pg-template-")
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            data = root / "data"
            # initdb and CREATE DATABASE take over a second together; copying their result about
            # a tenth of that. 1 MB WAL segments instead of 16 MB keep the copy small.
            _run([bindir / "initdb", "--pgdata", data, *INITDB_OPTIONS], cwd=root)
            # Single-user mode creates the database without a server, a port or a socket.
            single: list[str | Path] = [bindir / "postgres", "--single", "-D", data, "-F"]
            output = _run([*single, "postgres"], cwd=root, stdin=f"CREATE DATABASE {DATABASE};\n")
            if "ERROR:" in output:
                raise RuntimeError(f"CREATE DATABASE {DATABASE} failed:\n{output}")
            _template = data
        return _template


def _free_port() -> int:
    """Return a loopback port that nothing listens on at the moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(bindir: Path, root: Path, data: Path, log: Path) -> int:
    """Start the server on a free port and return the port."""
    attempts = 3
    for attempt in range(attempts):
        port = _free_port()
        settings = {**SERVER_SETTINGS, "port": str(port), "unix_socket_directories": str(root)}
        options = " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in settings.items())
        try:
            pg_ctl: list[str | Path] = [bindir / "pg_ctl", "start", "--pgdata", data, "--wait"]
            _run([*pg_ctl, "--log", log, "--timeout", "60", "--options", options], cwd=root)
        except RuntimeError as error:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            # Another process may take the port between the probe and the server's bind.
            if "could not bind" in server_log and attempt < attempts - 1:
                continue
            raise RuntimeError(f"{error}\nserver log:\n{server_log}") from None
        return port
    raise AssertionError("unreachable")


@contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """Run a fresh PostgreSQL cluster and yield an SQLAlchemy URL for a database in it."""
    bindir = find_bindir()
    _check_account()
    template = _template_cluster(bindir)
    root = _make_dir("glm-pg-")
    data = root / "data"
    log = root / "server.log"
    started = False
    try:
        # The copy keeps the template's owner and its 0700 mode, both of which the server checks.
        _run(["cp", "-a", template, data], cwd=root)
        port = _start(bindir, root, data, log)
        started = True
        password = secrets.token_urlsafe(24)
        # The password goes in on stdin rather than argv, and over the socket, which trusts.
        psql: list[str | Path] = [bindir / "psql", "--no-psqlrc", "--set", "ON_ERROR_STOP=1"]
        _run(
            [*psql, "--host", root, "--port", str(port), "--username", SUPERUSER, DATABASE],
            cwd=root,
            stdin=f"ALTER ROLE {SUPERUSER} PASSWORD '{password}';\n",
        )
        yield (
            f"postgresql+psycopg://{SUPERUSER}:{quote(password, safe='')}"
            f"@127.0.0.1:{port}/{DATABASE}"
        )
    finally:
        try:
            if started:
                # Nothing in the cluster is worth a clean shutdown's checkpoint.
                _run(
                    [bindir / "pg_ctl", "stop", "--pgdata", data, "--mode", "immediate", "--wait"],
                    cwd=root,
                )
        finally:
            # The server's log stays with the test's own files, for reading after a failure.
            if log.exists():
                workdir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(log, workdir / "postgres.log")
            shutil.rmtree(root, ignore_errors=True)

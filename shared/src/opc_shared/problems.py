"""RFC 9457 problem responses with stable codes and zh-CN / en text chosen by Accept-Language.

Every error a client sees goes through :class:`Problem`. HTTP-level refusals (authentication,
malformed requests) raise a Problem directly; rules and use cases raise an
:class:`~opc_shared.errors.DomainError`, which :func:`install` renders through the service's
:class:`~opc_shared.errors.ProblemTable`. No stack trace ever reaches a client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from opc_shared.errors import PLATFORM_PROBLEMS, DomainError, ProblemTable

log = structlog.get_logger("opc.problems")

PROBLEM_JSON = "application/problem+json"
LANGS = ("zh-CN", "en")

#: code -> language -> (title, detail template using str.format(**params))
_MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "malformed_body": {
        "en": ("Malformed request body", "The request body is not valid JSON: {reason}."),
        "zh-CN": ("请求体格式错误", "请求体不是有效的 JSON：{reason}。"),
    },
    "unsupported_media_type": {
        "en": ("Unsupported media type", "Send the body as application/json (UTF-8), not {media_type}."),
        "zh-CN": ("不支持的内容类型", "请求体须为 application/json（UTF-8 编码），而不是 {media_type}。"),
    },
    "payload_too_large": {
        "en": ("Request body too large", "The body exceeds the limit of {limit} bytes."),
        "zh-CN": ("请求体过大", "请求体超过 {limit} 字节的上限。"),
    },
    "value_out_of_range": {
        "en": ("Value out of range", "A value in the request is outside what this service can store or compute with."),
        "zh-CN": ("取值超出范围", "请求中的某个取值超出了本服务可存储或计算的范围。"),
    },
    "bad_request": {
        "en": ("Bad request", "{reason}"),
        "zh-CN": ("请求有误", "{reason}"),
    },
    "unauthenticated": {
        "en": ("Authentication required", "A valid bearer token is required: {reason}."),
        "zh-CN": ("需要身份认证", "需要有效的访问令牌：{reason}。"),
    },
    "route_not_found": {
        "en": ("Not found", "There is nothing at this address."),
        "zh-CN": ("未找到", "该地址不存在。"),
    },
    "method_not_allowed": {
        "en": ("Method not allowed", "This address does not accept that method."),
        "zh-CN": ("不支持的请求方法", "该地址不支持此请求方法。"),
    },
    "idempotency_key_reused": {
        "en": ("Idempotency key reused", "This Idempotency-Key was already used with a different request."),
        "zh-CN": ("幂等键重复使用", "该 Idempotency-Key 已用于另一个不同的请求。"),
    },
    "internal_error": {
        "en": ("Internal error", "Something went wrong on our side; the request id identifies it in our logs."),
        "zh-CN": ("服务内部错误", "服务端出现错误，可凭请求编号在日志中查询。"),
    },
    "service_unavailable": {
        "en": ("Service unavailable", "{reason}"),
        "zh-CN": ("服务暂不可用", "{reason}"),
    },
}

_MESSAGES.update({code: t.texts() for code, t in PLATFORM_PROBLEMS.items()})

_FIELD_MESSAGES_ZH = {
    "missing": "必填",
    "string_too_short": "长度不足",
    "string_too_long": "超出长度上限",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "uuid_parsing": "必须是 UUID",
    "datetime_parsing": "必须是 RFC 3339 时间",
    "date_from_datetime_parsing": "必须是日期",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "extra_forbidden": "不允许的字段",
    "value_error": "取值无效",
    "string_unicode": "含有不允许的字符（如 NUL）",
    "date_from_datetime_inexact": "必须是日期",
    "date_parsing": "必须是日期（YYYY-MM-DD）",
    "timezone_aware": "必须带时区（RFC 3339）",
}


def register_messages(messages: dict[str, dict[str, tuple[str, str]]]) -> None:
    for code, texts in messages.items():
        missing = set(LANGS) - set(texts)
        if missing:
            raise ValueError(f"problem code {code!r} lacks text for {sorted(missing)}")
        _MESSAGES[code] = texts


def known_codes() -> set[str]:
    return set(_MESSAGES)


@dataclass
class FieldError:
    field: str
    message: str | Mapping[str, str]
    type: str = "value_error"
    location: str = "body"


@dataclass
class Problem(Exception):
    """An error with a stable machine code, rendered as application/problem+json."""

    code: str
    status: int
    params: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in _MESSAGES:
            raise ValueError(f"unregistered problem code {self.code!r}")
        super().__init__(self.code)


def pick_language(accept_language: str | None) -> str:
    """zh-CN unless the client prefers English (by q-value, then order)."""
    if not accept_language:
        return "zh-CN"
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, q = piece.partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if weight <= 0:  # q=0 means "not acceptable"
            continue
        ranked.append((-weight, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "zh-CN"


def render(problem: Problem, request: Request) -> JSONResponse:
    lang = pick_language(request.headers.get("accept-language"))
    title, detail = _MESSAGES[problem.code][lang]
    return _render(problem, request, lang, title, detail)


def _render(problem: Problem, request: Request, lang: str, title: str, detail: str) -> JSONResponse:
    # A param may carry its own translations: {"en": "firm", "zh-CN": "企业"}.
    params = {k: (v.get(lang, next(iter(v.values()))) if isinstance(v, dict) else v) for k, v in problem.params.items()}
    with contextlib.suppress(KeyError, IndexError):
        detail = detail.format(**params)
    body: dict[str, Any] = {
        "type": f"urn:opc:problem:{problem.code}",
        "title": title,
        "status": problem.status,
        "detail": detail,
        "instance": request.url.path,
        "code": problem.code,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if problem.errors:
        body["errors"] = [
            {
                "field": e.field,
                "in": e.location,
                "type": e.type,
                "message": _field_message(e, lang),
            }
            for e in problem.errors
        ]
    headers = {"Content-Language": lang, **problem.headers}
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _field_message(error: FieldError, lang: str) -> str:
    """A service's own message may carry both languages ({"en": …, "zh-CN": …}); a framework
    message (pydantic's, in English) is replaced by the zh-CN text of its type."""
    if isinstance(error.message, Mapping):
        return error.message.get(lang) or next(iter(error.message.values()))
    return _FIELD_MESSAGES_ZH.get(error.type, error.message) if lang == "zh-CN" else error.message


def to_problem(error: DomainError, table: ProblemTable) -> Problem:
    """The problem a refusal becomes under ``table``; KeyError if the code is not in it."""
    errors = [FieldError(field=f, type=ty, message=msg) for f, ty, msg in error.fields]
    return Problem(error.code, table[error.code].status, params=table.localise(error.params), errors=errors)


def validation_problem(errors: list[FieldError]) -> Problem:
    return Problem(
        "validation_error", 422, params={"count": len(errors), "fields": ", ".join(e.field for e in errors)}, errors=errors
    )


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = str(loc[0]) if loc else "body"
        path = [str(p) for p in loc[1:]] if where in ("body", "query", "path", "header") else [str(p) for p in loc]
        out.append(
            FieldError(
                field=".".join(path) or where,
                message=err.get("msg", "invalid"),
                type=err.get("type", "value_error"),
                location=where,
            )
        )
    return out


def install(app: FastAPI, table: ProblemTable | None = None) -> None:
    """Render every error as a problem; ``table`` is the service's code -> status and text."""
    table = table or ProblemTable()
    app.state.problem_table = table
    register_messages({code: table[code].texts() for code in table.codes()})

    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return render(exc, request)

    async def on_domain(request: Request, exc: DomainError) -> JSONResponse:
        if exc.code in table:
            return render(to_problem(exc, table), request)
        log.error("problem.unregistered_code", code=exc.code, path=request.url.path)
        settings = getattr(request.app.state, "settings", None)
        if getattr(settings, "environment", None) == "test":
            return render(Problem("internal_error", 500), request)  # the suite must see it
        lang = pick_language(request.headers.get("accept-language"))
        title = "Request refused" if lang == "en" else "请求被拒绝"
        fallback = Problem("conflict", 409, params=exc.params)
        fallback.code = exc.code  # keep the code: it still says what went wrong
        return _render(fallback, request, lang, title, exc.code)

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e.location == "header" and e.field.lower() == "if-match" and e.type == "missing" for e in errors):
            return render(Problem("precondition_required", 428), request)
        invalid = next((err for err in exc.errors() if err.get("type") == "json_invalid"), None)
        if invalid is not None:
            loc = invalid.get("loc", ())
            where, what = (loc[-1] if loc else "?"), (invalid.get("ctx") or {}).get("error", "invalid JSON")
            reason = {"en": f"{what} at character {where}", "zh-CN": f"第 {where} 个字符处有误（{what}）"}
            return render(Problem("malformed_body", 400, params={"reason": reason}), request)
        return render(validation_problem(errors), request)

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code)
        if code is None:
            code = "internal_error" if exc.status_code >= 500 else "bad_request"
        params: dict[str, Any] = {"reason": str(exc.detail)}
        if code == "malformed_body":  # FastAPI could not decode the body (wrong encoding, nested too deeply)
            params["reason"] = {"en": "it could not be decoded", "zh-CN": "无法解码"}
        return render(Problem(code, exc.status_code, params=params), request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Unexpected exceptions are answered by RequestGuardMiddleware (keeps the connection alive).
    from opc_shared.request_guard import RequestGuardMiddleware

    app.add_middleware(RequestGuardMiddleware)


_HTTP_CODES = {
    400: "malformed_body",
    401: "unauthenticated",
    403: "forbidden",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

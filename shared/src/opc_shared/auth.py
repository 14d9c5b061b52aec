"""JWT bearer authentication. Claims: sub, district, roles, firm_id (DESIGN.md).

Development signs HS256 with OPC_JWT_SECRET; production verifies against a JWKS URL.
A ``district`` of ``*`` marks city-wide staff (city bureaus), who see every district.
"""

from __future__ import annotations

import argparse
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

import jwt
from fastapi import Depends, Request

from opc_shared.problems import Problem
from opc_shared.settings import ServiceSettings

ROLES = frozenset({"caseworker", "reviewer", "finance", "admin", "firm", "scenario_owner"})
CITY_WIDE = "*"
STAFF_ROLES = ("caseworker", "reviewer", "finance", "admin")


@dataclass(frozen=True)
class Principal:
    sub: str
    district: str
    roles: frozenset[str]
    firm_id: str | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def may_see_district(self, district: str) -> bool:
        return self.district in (CITY_WIDE, district)

    def may_see_firm(self, firm_id: object, district: str) -> bool:
        """Staff see the firms of their district; a firm user sees only its own firm."""
        if self.has_any(*STAFF_ROLES) and self.may_see_district(district):
            return True
        return "firm" in self.roles and self.firm_id is not None and self.firm_id == str(firm_id)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


#: Tokens already verified, until they expire: a portal sends the same bearer token with every request,
#: and checking its signature and claims again each time cost about 5 % of a read. Bounded, oldest out first.
_verified: OrderedDict[tuple[object, ...], tuple[Principal, float]] = OrderedDict()
_VERIFIED_MAX = 10_000


def decode_token(token: str, settings: ServiceSettings) -> Principal:
    key = (token, settings.jwt_jwks_url, settings.jwt_secret.get_secret_value(), settings.jwt_audience, settings.jwt_issuer)
    hit = _verified.get(key)
    if hit is not None and hit[1] > time.time():
        return hit[0]
    principal, expires = _verify(token, settings)
    _verified[key] = (principal, expires)
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return principal


def _verify(token: str, settings: ServiceSettings) -> tuple[Principal, float]:
    options = {"require": ["sub", "exp"]}
    try:
        if settings.jwt_jwks_url:
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
            algorithms = ["RS256", "ES256"]
        else:
            key = settings.jwt_secret.get_secret_value()
            algorithms = ["HS256"]
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=options | ({"verify_aud": False} if settings.jwt_audience is None else {}),
        )
    except jwt.ExpiredSignatureError:
        raise Problem(
            "unauthenticated",
            401,
            params={"reason": {"en": "token expired", "zh-CN": "令牌已过期"}},
            headers=_challenge("invalid_token"),
        ) from None
    except jwt.PyJWTError as exc:
        raise Problem(
            "unauthenticated",
            401,
            params={"reason": {"en": f"token rejected ({type(exc).__name__})", "zh-CN": f"令牌无效（{type(exc).__name__}）"}},
            headers=_challenge("invalid_token"),
        ) from None
    roles = claims.get("roles") or []
    district = claims.get("district")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles) or not isinstance(district, str) or not district:
        raise Problem(
            "unauthenticated",
            401,
            params={"reason": {"en": "token lacks district or roles", "zh-CN": "令牌缺少所属区域或角色"}},
            headers=_challenge("invalid_token"),
        )
    firm_id = claims.get("firm_id")
    principal = Principal(
        sub=str(claims["sub"]), district=district, roles=frozenset(roles) & ROLES, firm_id=str(firm_id) if firm_id else None
    )
    return principal, float(claims["exp"])


def _challenge(error: str | None = None) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer error="{error}"' if error else "Bearer"}


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            "unauthenticated",
            401,
            params={"reason": {"en": "missing Authorization: Bearer header", "zh-CN": "缺少 Authorization: Bearer 请求头"}},
            headers=_challenge(),
        )
    principal = decode_token(token.strip(), request.app.state.settings)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: str):
    """Dependency: the caller must hold at least one of ``roles``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Problem(
                "forbidden",
                403,
                params={
                    "reason": {"en": f"needs one of roles {', '.join(roles)}", "zh-CN": f"需要以下角色之一：{'、'.join(roles)}"}
                },
            )
        return principal

    return Depends(dependency)


def mint_token(
    secret: str, *, sub: str, district: str, roles: list[str], firm_id: str | None = None, ttl_s: int = 8 * 3600
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "district": district, "roles": roles, "iat": now, "exp": now + ttl_s}
    if firm_id:
        claims["firm_id"] = firm_id
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_token_cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="opc-token", description="Mint a development JWT signed with OPC_JWT_SECRET.")
    parser.add_argument("--sub", default="dev-user")
    parser.add_argument("--district", default="wuhou", help="district code, or * for city-wide staff")
    parser.add_argument("--roles", default="caseworker", help="comma-separated: " + ",".join(sorted(ROLES)))
    parser.add_argument("--firm-id")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="seconds")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if settings.environment == "production":
        raise SystemExit("refusing to mint tokens in production")
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - ROLES
    if unknown:
        raise SystemExit(f"unknown roles: {sorted(unknown)}")
    print(
        mint_token(
            settings.jwt_secret.get_secret_value(),
            sub=args.sub,
            district=args.district,
            roles=roles,
            firm_id=args.firm_id,
            ttl_s=args.ttl,
        )
    )

import time

import jwt
import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from opc_shared.auth import Principal, decode_token, mint_token
from opc_shared.problems import Problem
from opc_shared.settings import DEFAULT_JWT_SECRET, ServiceSettings

SECRET = "test-secret-that-is-at-least-32-bytes-long"


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OPC_DEMO_", extra="ignore")


def test_service_prefix_wins_over_common_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPC_DATABASE_URL", "postgresql+asyncpg://common@h/opc")
    monkeypatch.setenv("OPC_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    assert DemoSettings().database_url == "postgresql+asyncpg://common@h/opc"
    monkeypatch.setenv("OPC_DEMO_DATABASE_URL", "postgresql+asyncpg://own:pw@h/opc")
    settings = DemoSettings()
    assert settings.database_url == "postgresql+asyncpg://own:pw@h/opc"
    assert settings.kafka_servers == ["k1:9092", "k2:9092"]
    assert "pw" not in str(settings.safe_dump())


def test_production_refuses_the_default_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPC_ENVIRONMENT", "production")
    monkeypatch.delenv("OPC_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="development default"):
        DemoSettings()
    monkeypatch.setenv("OPC_JWT_SECRET", "short")
    with pytest.raises(ValidationError, match="32"):
        DemoSettings()
    monkeypatch.setenv("OPC_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert DemoSettings().environment == "production"


def test_development_accepts_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPC_ENVIRONMENT", "development")
    monkeypatch.delenv("OPC_JWT_SECRET", raising=False)
    assert DemoSettings().jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET


def test_token_round_trip_and_claims() -> None:
    settings = DemoSettings(jwt_secret=SECRET)
    token = mint_token(SECRET, sub="u1", district="wuhou", roles=["caseworker", "made_up"], firm_id=None)
    principal = decode_token(token, settings)
    assert principal == Principal(sub="u1", district="wuhou", roles=frozenset({"caseworker"}))


@pytest.mark.parametrize(
    "token_factory",
    [
        lambda: mint_token("another-secret-that-is-long-enough-123", sub="u", district="wuhou", roles=["admin"]),
        lambda: mint_token(SECRET, sub="u", district="wuhou", roles=["admin"], ttl_s=-10),
        lambda: jwt.encode({"sub": "u", "exp": int(time.time()) + 60, "roles": ["admin"]}, SECRET, algorithm="HS256"),
        lambda: jwt.encode(
            {"sub": "u", "exp": int(time.time()) + 60, "district": "w", "roles": ["admin"]}, SECRET, algorithm="HS512"
        ),
        lambda: "not.a.jwt",
    ],
    ids=["wrong-secret", "expired", "no-district", "wrong-alg", "garbage"],
)
def test_bad_tokens_are_refused(token_factory) -> None:
    with pytest.raises(Problem) as info:
        decode_token(token_factory(), DemoSettings(jwt_secret=SECRET))
    assert info.value.status == 401


def test_district_and_firm_visibility() -> None:
    caseworker = Principal("c", "wuhou", frozenset({"caseworker"}))
    city = Principal("c", "*", frozenset({"finance"}))
    firm_user = Principal("f", "wuhou", frozenset({"firm"}), firm_id="F1")
    assert caseworker.may_see_firm("F9", "wuhou") and not caseworker.may_see_firm("F9", "gaoxin")
    assert city.may_see_firm("F9", "gaoxin")
    assert firm_user.may_see_firm("F1", "wuhou") and not firm_user.may_see_firm("F2", "wuhou")

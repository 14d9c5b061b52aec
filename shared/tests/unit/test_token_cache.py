"""Verified bearer tokens are remembered until they expire, never past it, and never across keys."""

from __future__ import annotations

import time

import pytest

from opc_shared.auth import decode_token, mint_token
from opc_shared.problems import Problem
from opc_shared.settings import ServiceSettings

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_remembered_token_is_refused_once_expired() -> None:
    settings = ServiceSettings(jwt_secret=SECRET)
    token = mint_token(SECRET, sub="u1", district="wuhou", roles=["caseworker"], ttl_s=1)
    assert decode_token(token, settings).sub == "u1"
    assert decode_token(token, settings).sub == "u1"  # from memory
    time.sleep(2.1)
    with pytest.raises(Problem) as refused:
        decode_token(token, settings)
    assert refused.value.status == 401


def test_a_token_verified_under_one_secret_is_not_accepted_under_another() -> None:
    token = mint_token(SECRET, sub="u2", district="wuhou", roles=["finance"])
    assert decode_token(token, ServiceSettings(jwt_secret=SECRET)).roles == frozenset({"finance"})
    with pytest.raises(Problem):
        decode_token(token, ServiceSettings(jwt_secret=SECRET + "-rotated"))

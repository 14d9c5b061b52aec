"""The standards' own examples and single-character corruptions."""

import pytest

from opc_shared.identifiers import (
    USCC_CHARSET,
    complete_uscc,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
    uscc_check_ok,
)


def test_standard_examples() -> None:
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert complete_uscc("91350100M000100Y4") == "91350100M000100Y43"
    assert resident_id_check_char("11010519491231002") == "X"
    assert org_code_check_char("M000100Y") == "4"


@pytest.mark.parametrize("position", range(18))
def test_any_single_character_corruption_is_caught(position: int) -> None:
    good = "91350100M000100Y43"
    assert uscc_check_ok(good)
    for c in USCC_CHARSET:
        if c != good[position]:
            assert not uscc_check_ok(good[:position] + c + good[position + 1 :])


@pytest.mark.parametrize("bad", ["", "9135", "91350100M000100Y4I", "91350100M000100Y4O" * 2])
def test_wrong_shapes_are_refused(bad: str) -> None:
    assert not uscc_check_ok(bad)
    with pytest.raises(ValueError):
        uscc_check_char(bad[:16] + "I")
    with pytest.raises(ValueError):
        resident_id_check_char("1101051949123100A")

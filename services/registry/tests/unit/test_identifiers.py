from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain.identifiers import (
    USCC_CHARSET,
    InvalidIdentifier,
    generate_uscc,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
    validate_resident_id,
    validate_uscc,
)

TODAY = date(2026, 3, 2)

# Codes published on licences and in the standard.
#
# 91350100M000100Y43, the example in GB 32100-2015, by hand:
#   organisation code M000100Y-4: GB 11714 values M=22, Y=34;
#     3·22 + 5·1 + 2·34 = 139, 139 mod 11 = 7, 11 − 7 = 4 ✓
#   check character over the USCC charset values (M=21, Y=30):
#     9·1 + 1·3 + 3·9 + 5·27 + 0·19 + 1·26 + 0·16 + 0·17 + 21·20 + 0·29 + 0·25 + 0·13 + 1·8
#     + 0·24 + 0·10 + 30·30 + 4·28 = 1640, 1640 mod 31 = 28, 31 − 28 = 3 ✓
VALID_USCC = ["91350100M000100Y43", "91110000802100433B", "911100001000044477", "91440300708461136T"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code
    assert uscc_check_char(code[:17]) == code[17]


def test_credit_code_is_normalised() -> None:
    assert validate_uscc("  91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "18 characters, got 17"),
        ("91350100M000100Y433", "18 characters, got 19"),
        ("91350100I000100Y43", "'I' are not allowed"),
        ("91350100O000100Y43", "'O' are not allowed"),
        ("91350100Z000100Y43", "'Z' are not allowed"),
        ("91350100S000100Y43", "'S' are not allowed"),
        ("91350100V000100Y43", "'V' are not allowed"),
        ("91350100M000100Y4-", "'-' are not allowed"),
        ("913501A0M000100Y43", "administrative division code 3501A0"),
        ("91350100M000100Y53", "organisation code check character (character 17) is 5, M000100Y requires 4"),
        ("91350100M000200Y43", "organisation code check character"),
        ("91350100M000100Y44", "check character is 4, the first 17 characters require 3"),
        ("91110000802100433C", "check character is C"),
        ("92110000802100433B", "check character is B"),
    ],
)
def test_invalid_credit_codes_name_the_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_uscc(code)
    assert reason in exc.value.reason
    assert isinstance(exc.value, ValueError)


def test_organisation_code_check_maps_ten_and_eleven() -> None:
    # 11 − 1 = 10 → X and 11 − 0 = 11 → 0
    assert org_code_check_char("00000006") == "X"  # 6·2 = 12 ≡ 1 (mod 11)
    assert org_code_check_char("00000000") == "0"


def test_generate_credit_code_for_an_issued_licence() -> None:
    code = generate_uscc("510107", 1)
    assert code.startswith("91510107") and validate_uscc(code) == code
    assert generate_uscc("510107", 1) == code
    assert generate_uscc("510107", 2) != code
    assert generate_uscc("510107", 1, authority="Y", category="2").startswith("Y2510107")


@pytest.mark.parametrize(
    ("division", "serial", "authority", "category"),
    [("51010", 1, "9", "1"), ("51010A", 1, "9", "1"), ("510107", 1, "O", "1"), ("510107", 1, "9", "12")],
)
def test_generate_refuses_bad_parts(division: str, serial: int, authority: str, category: str) -> None:
    with pytest.raises(InvalidIdentifier):
        generate_uscc(division, serial, authority, category)


def test_generate_refuses_serials_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        generate_uscc("510107", -1)
    with pytest.raises(ValueError):
        generate_uscc("510107", 31**8)
    assert validate_uscc(generate_uscc("510107", 31**8 - 1))


divisions = st.text("0123456789", min_size=6, max_size=6)
serials = st.integers(0, 31**8 - 1)
charset_chars = st.sampled_from(USCC_CHARSET)


@given(divisions, serials, charset_chars, charset_chars)
def test_generated_codes_always_validate(division: str, serial: int, authority: str, category: str) -> None:
    code = generate_uscc(division, serial, authority, category)
    assert validate_uscc(code) == code


@given(serials, serials)
def test_distinct_serials_give_distinct_codes(a: int, b: int) -> None:
    assert (generate_uscc("510107", a) == generate_uscc("510107", b)) == (a == b)


def _substitute(code: str, position: int, char: str) -> str:
    return code[:position] + char + code[position + 1 :]


@given(
    st.one_of(st.sampled_from(VALID_USCC), st.builds(generate_uscc, divisions, serials)),
    st.integers(0, 17),
    st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
def test_any_single_character_change_in_a_credit_code_is_caught(code: str, position: int, char: str) -> None:
    if code[position] == char:
        char = "0" if char != "0" else "1"
    with pytest.raises(InvalidIdentifier):
        validate_uscc(_substitute(code, position, char))


# GB 11643-1999's own examples
VALID_RESIDENT_IDS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", VALID_RESIDENT_IDS)
def test_standard_examples_of_resident_ids_are_valid(number: str) -> None:
    assert validate_resident_id(number, TODAY) == number
    assert resident_id_check_char(number[:17]) == number[17]


def test_resident_id_is_normalised() -> None:
    assert validate_resident_id(" 11010519491231002x ", TODAY) == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "18 characters, got 17"),
        ("11010519491231002XX", "18 characters, got 19"),
        ("1101051949123100AX", "first 17 characters"),
        ("11010519491231002Y", "digit or X"),
        ("110105194902300021", "19490230 (characters 7–14) is not a real date"),
        ("110105194913010021", "not a real date"),
        ("110105203001010021", "2030-01-01 (characters 7–14) is in the future"),
        ("110105194912310021", "check character is 1, the first 17 characters require X"),
        ("440524188001010015", "check character is 5, the first 17 characters require 4"),
        ("44052418800101001X", "check character is X"),
    ],
)
def test_invalid_resident_ids_name_the_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        validate_resident_id(number, TODAY)
    assert reason in exc.value.reason


def test_born_today_is_not_the_future() -> None:
    first17 = "51010720260302001"
    number = first17 + resident_id_check_char(first17)
    assert validate_resident_id(number, TODAY) == number
    with pytest.raises(InvalidIdentifier, match="future"):
        validate_resident_id(number, date(2026, 3, 1))


@given(
    st.dates(date(1900, 1, 1), TODAY),
    st.text("0123456789", min_size=6, max_size=6),
    st.text("0123456789", min_size=3, max_size=3),
)
def test_a_computed_check_char_always_validates(born: date, region: str, sequence: str) -> None:
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    assert validate_resident_id(first17 + resident_id_check_char(first17), TODAY)


def test_the_form_is_normalised_before_validation_and_stored_normalised() -> None:
    from registry.domain.form import CaseForm
    from registry.domain.intake import normalised, validate_form

    raw = {
        "founder": {"phone": "13８００１３８０００", "id_number": "11010519491231002ｘ"},
        "proposed_name": "成都（测试）有限公司",
    }
    form = CaseForm.from_json(raw)
    normal = normalised(form)
    assert (normal.founder.phone, normal.founder.id_number) == ("13800138000", "11010519491231002X")
    assert normal.proposed_name == "成都（测试）有限公司"  # names keep their full-width brackets
    assert form.founder.phone == "13８００１３８０００"  # the input is not changed
    assert validate_form(normal, date(2026, 11, 22)) == []
    assert normalised(CaseForm.from_json({"founder": {"phone": "138 0013-8000"}})).founder.phone == "13800138000"
    arabic_indic = normalised(CaseForm.from_json({"founder": {"phone": "١٣٨٠٠١٣٨٠٠٠"}}))
    assert [f for f, _, _ in validate_form(arabic_indic, date(2026, 11, 22))] == ["founder.phone"]

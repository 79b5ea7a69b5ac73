"""Each withdrawal kind's rules, passing and failing, rule by rule; limits; the payout's finality."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.housing_fund import instructions, rules
from domain.housing_fund.rules import Account, Applicant, Request, Usage

TODAY = date(2026, 11, 27)
MAN_36 = Applicant(birth_date=date(1990, 3, 7), sex="M")
NORMAL = Account(centre_code="330100-housing_fund", centre_name="杭州住房公积金管理中心", account_no="330100300023",
                 status="normal", balance_fen=3_000_000, monthly_deposit_fen=300_000, deposit_months=10,
                 opened_on=date(2026, 1, 1))
SEALED = replace(NORMAL, status="sealed", sealed_on=date(2025, 12, 31), deposit_months=0)


def judge(kind, account=NORMAL, applicant=MAN_36, usage=Usage(), **request):
    return rules.evaluate(kind, account=account, applicant=applicant, request=Request(kind=kind, **request),
                          today=TODAY, usage=usage)


def failed(result) -> set[str]:
    return {c.rule for c in result.checks if not c.passed}


def test_renting_passes_within_the_monthly_cap_and_explains_each_rule():
    result = judge("renting", amount_fen=150_000)
    assert result.eligible and result.rule_clear
    assert [c.rule for c in result.checks] == ["account_status", "deposit_months", "amount_within_limit"]
    assert all(c.message for c in result.checks)
    assert (result.limit.period_key, result.limit.available_fen) == ("renting:2026-11", 150_000)


def test_renting_fails_above_the_cap_on_a_short_deposit_run_and_on_a_sealed_account():
    assert failed(judge("renting", amount_fen=150_001)) == {"amount_within_limit"}
    assert failed(judge("renting", account=replace(NORMAL, deposit_months=2), amount_fen=100)) == {"deposit_months"}
    assert "account_status" in failed(judge("renting", account=SEALED, amount_fen=100))


def test_a_rental_contract_raises_the_monthly_cap_and_usage_lowers_what_is_left():
    with_contract = judge("renting", uploads=frozenset({rules.RENTAL_CONTRACT}))
    assert with_contract.limit.available_fen == 300_000
    used = judge("renting", usage=Usage(period_used_fen=100_000), amount_fen=60_000)
    assert failed(used) == {"amount_within_limit"} and used.limit.available_fen == 50_000


def test_buying_needs_the_real_estate_license_a_recent_purchase_and_six_months():
    ok = judge("buying", licenses=frozenset({"real_estate_certificate"}), purchased_on=date(2026, 6, 1),
               price_fen=2_000_000, amount_fen=2_000_000)
    assert ok.eligible and ok.limit.period_key == "buying:2026"
    bad = judge("buying", account=replace(NORMAL, deposit_months=5), purchased_on=date(2025, 6, 1),
                price_fen=2_000_000, amount_fen=2_500_000)
    assert failed(bad) == {"deposit_months", "material:不动产权证书", "purchase_recent", "amount_within_limit"}


def test_a_spouses_home_also_needs_the_marriage_certificate():
    given = dict(licenses=frozenset({"real_estate_certificate"}), purchased_on=date(2026, 6, 1), price_fen=10_000,
                 amount_fen=10_000, home_owner="spouse")
    assert failed(judge("buying", **given)) == {"material:结婚证"}
    given["licenses"] = frozenset({"real_estate_certificate", "marriage_certificate"})
    assert judge("buying", **given).eligible


def test_loan_repayment_is_bounded_by_what_was_repaid_this_year_and_by_the_balance():
    ok = judge("loan_repayment", licenses=frozenset({"real_estate_certificate"}), repaid_this_year_fen=5_000_000,
               amount_fen=3_000_000)
    assert ok.eligible and ok.limit.available_fen == 3_000_000  # the balance, not the 50,000 repaid
    assert failed(judge("loan_repayment", licenses=frozenset({"real_estate_certificate"}),
                        amount_fen=100)) == {"repaid", "amount_within_limit"}


def test_retirement_needs_the_legal_age_and_takes_the_whole_balance():
    woman_56 = Applicant(birth_date=date(1970, 1, 1), sex="F")
    man_56 = Applicant(birth_date=date(1970, 1, 1), sex="M")
    assert judge("retirement", applicant=woman_56, account=SEALED, amount_fen=3_000_000).eligible
    refused = judge("retirement", applicant=man_56, amount_fen=3_000_000)
    assert failed(refused) == {"retirement_age"}
    assert "60周岁" in next(c.message for c in refused.checks if c.rule == "retirement_age")
    assert failed(judge("retirement", applicant=woman_56, amount_fen=3_000_001)) == {"amount_within_limit"}


def test_leaving_needs_the_account_sealed_six_months():
    assert judge("leaving", account=SEALED, amount_fen=3_000_000).eligible
    recent = replace(SEALED, sealed_on=date(2026, 8, 1))
    assert failed(judge("leaving", account=recent, amount_fen=100)) == {"sealed_months"}
    assert failed(judge("leaving", amount_fen=100)) == {"account_status", "sealed_months"}


def test_illness_needs_a_diagnosis_and_a_person_to_review_it():
    ok = judge("illness", uploads=frozenset({rules.DIAGNOSIS}), medical_cost_fen=800_000, amount_fen=800_000)
    assert ok.eligible and ok.needs_review and not ok.rule_clear
    assert failed(judge("illness", medical_cost_fen=800_000, amount_fen=800_000)) == {"material:重大疾病诊断证明"}


def test_money_in_flight_is_not_spendable_twice():
    result = judge("retirement", applicant=Applicant(date(1950, 1, 1), "M"), usage=Usage(in_flight_fen=2_900_000),
                   amount_fen=200_000)
    assert failed(result) == {"amount_within_limit"} and result.limit.available_fen == 100_000


def test_nothing_left_to_withdraw_is_said_even_without_an_amount():
    assert failed(judge("renting", usage=Usage(period_used_fen=150_000))) == {"amount_within_limit"}


def test_the_id_number_gives_birth_date_and_sex():
    assert rules.applicant_of("110105199003070017") == Applicant(date(1990, 3, 7), "M")
    assert rules.applicant_of("330106198805120023").sex == "F"
    assert rules.age_on(date(1990, 3, 7), date(2026, 3, 6)) == 35


@pytest.mark.parametrize("status", ["paid", "failed", "returned"])
def test_a_final_payout_never_changes_again(status):
    for event in rules.PAYOUT_EVENTS:
        assert rules.payout_verdict(status, event) == rules.STALE
    assert rules.payout_verdict("requested", status) == rules.APPLY


def test_paid_money_stays_counted_in_its_period_failed_money_does_not():
    assert rules.releases("paid") == (False, True)
    assert rules.releases("failed") == (True, True) == rules.releases("returned")


def test_bank_card_numbers_carry_a_luhn_digit():
    assert rules.valid_card_number("6217001002000000025")
    assert not rules.valid_card_number("6217001002000000021") and not rules.valid_card_number("62170010")
    assert rules.mask_card("6217001002000000025") == "6217 **** **** 0025"


# --- money figures: bounded to what the store holds (issue #12 item 6) -------------------------


def _bad_fields(amount, **details) -> list[str]:
    return [p["field"] for p in rules.figure_problems(amount, details)]


def test_money_figures_are_whole_fen_within_what_the_store_holds():
    assert rules.figure_problems(100, {"medical_cost_fen": 20_000_000, "home_owner": "self"}) == []
    assert rules.figure_problems(None, {}) == []  # only asking, nothing declared
    fields = _bad_fields
    assert fields(100, medical_cost_fen=2**64) == ["details.medical_cost_fen"]
    assert fields(rules.MAX_FIGURE_FEN + 1, price_fen=0, repaid_this_year_fen=True) == [
        "amount_fen", "details.price_fen", "details.repaid_this_year_fen"]
    assert fields(rules.MAX_FIGURE_FEN, price_fen=rules.MAX_FIGURE_FEN) == []
    assert rules.MAX_FIGURE_FEN * 2 < 2**63  # the quota arithmetic (cap - amount) stays in a BIGINT


# --- the payout instruction a centre checks (instructions.py) ----------------------------------

FACE = instructions.FaceBinding("f_1", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
BOB_ID = "330106198805120023"


def _claims(**changes) -> dict:
    claims = instructions.payout_claims(
        payout_id="po_1", withdrawal_id="w_1", centre_code="340100-housing_fund", account_no="340100200023",
        holder_ref=instructions.holder_reference(BOB_ID, "po_1"), amount_fen=100_000, card_no="6217001002000000025",
        bank_name=None, face=FACE, issued_at=datetime(2026, 11, 27, 2, 1, tzinfo=UTC), callback="/cb")
    return {**claims, **changes}


FORM = {"withdrawal_id": "w_1", "account_no": "340100200023", "amount_fen": 100_000}


def _refusal(claims=None, form=FORM, holder=BOB_ID):
    found = instructions.refusal(claims or _claims(), centre="340100-housing_fund", form=form,
                                 holder_id_number=holder)
    return found.reason if found else None


def test_the_holder_reference_is_salted_by_the_payout_and_matches_any_case_of_x():
    ref = instructions.holder_reference("11010519900307001x", "po_1")
    assert ref == instructions.holder_reference("11010519900307001X ", "po_1")
    assert ref != instructions.holder_reference("11010519900307001X", "po_2")
    assert len(ref) == 64 and "11010519900307001" not in ref


def test_a_centre_pays_an_instruction_only_for_itself_its_form_and_the_holder_on_record():
    assert _refusal() is None
    assert _refusal(_claims(centre="330100-housing_fund")) == "wrong_centre"
    assert _refusal(form={**FORM, "amount_fen": 200_000}) == "form_mismatch"
    assert _refusal(_claims(face={"session_id": "", "verified_at": "x"})) == "face_binding_missing"
    assert _refusal(holder=None) == "account_not_found"
    assert _refusal(holder="310115199208150037") == "holder_mismatch"  # another person's account
    assert _refusal(_claims(amount_fen=True)) == "malformed"
    assert _refusal({k: v for k, v in _claims().items() if k != "holder_ref"}) == "malformed"

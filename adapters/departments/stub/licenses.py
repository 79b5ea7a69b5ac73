"""The stub department issues the e-license a matter produces, through the hub's /gov/v1 issuance
(``POST /gov/v1/licenses``, signed as the node), between ``approved`` and ``completed``: when the
hub hears "completed", the license is already in the wallet (docs/bundles.md). A matter that ends
a license (a company's deregistration) changes its status the same way.

Which matters issue what is the table ``ISSUES`` (by catalog code: the demo bundles' step
matters, ``BDL-…``). The data comes from the application's form, as a department fills a license
from the case it decided. Numbers a department would assign — a child's citizen ID number, a
company's unified social credit code, card and account numbers — are derived from the
application number, so a repeat of the same application gives the same license (and the hub's
409 ``license_exists`` on a repeat is taken as done).
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable
from urllib.parse import quote

import httpx
from stdnum.cn import ric, uscc

from domain.applications.instant_approval import organisation_code

log = logging.getLogger("govhub.stub")

ISSUE = "issue_license"  # the review script's pseudo-event: issue, then go on


def _serial(number: str, space: int) -> int:
    return int(hashlib.sha256(number.encode()).hexdigest(), 16) % space


def child_id_number(region6: str, birth_date: str, certificate_number: str, sex: str) -> str:
    """The citizen ID number public security gives a newborn: region, birth date, a sequence
    whose last digit is odd for boys and even for girls, and the ISO 7064 check digit."""
    sequence = _serial(certificate_number, 500) * 2 + (1 if sex == "男" else 0)
    first17 = f"{region6}{birth_date.replace('-', '')}{sequence:03d}"
    # stdnum's calc_check_digit drops the last character: it expects the 18-character number
    return ric.validate(first17 + ric.calc_check_digit(first17 + "X"))


def company_credit_code(region6: str, number: str) -> str:
    """A company's unified social credit code (authority 9, type 1 = enterprise)."""
    first17 = "91" + region6 + organisation_code(_serial(number, 10**7))
    return uscc.validate(first17 + uscc.calc_check_digit(first17))


def _child(form: dict, number: str) -> str:
    return child_id_number(number[:6], form["birth_date"], form["certificate_number"], form.get("child_sex", "男"))


def _birth_certificate(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    data = {"child_name": form["child_name"], "sex": form["child_sex"], "birth_date": form["birth_date"],
            "birth_place": form["birth_place"], "mother_name": form["mother_name"],
            "mother_id_number": form["mother_id_number"], "certificate_number": form["certificate_number"]}
    if form.get("father_name") and form.get("father_id_number"):
        data.update(father_name=form["father_name"], father_id_number=form["father_id_number"])
    return "birth_medical_certificate", form["certificate_number"], data


def _household_entry(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "household_register", f"HR-{number}", {
        "name": form["child_name"], "id_number": _child(form, number),
        "household_number": f"HH{number[:6]}{_serial(form['household_address'], 10**6):06d}",
        "relation_to_head": "子" if form["child_sex"] == "男" else "女", "address": form["household_address"],
        "registered_on": today}


def _social_security_card(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "social_security_card", f"SSC-{number}", {
        "name": form["child_name"], "id_number": _child(form, number),
        "card_number": f"A{_serial(number, 10**8):08d}", "bank": "中国工商银行", "issued_on": today,
        "region": number[:6]}


def _medical_insurance(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "medical_insurance_certificate", f"MI-{number}", {
        "name": form["child_name"], "id_number": _child(form, number), "insured_region": number[:6],
        "insurance_type": "城乡居民"}


def _vaccination(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "vaccination_certificate", f"VAC-{number}", {
        "child_name": form["child_name"], "birth_date": form["birth_date"], "guardian_name": form["guardian_name"],
        "guardian_id_number": form["guardian_id_number"],
        "doses": [{"vaccine": "乙肝疫苗（第1剂）", "date": form["birth_date"]},
                  {"vaccine": "卡介苗", "date": form["birth_date"]}]}


def _business_license(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "business_license", f"BL-{number}", {
        "credit_code": company_credit_code(number[:6], number), "company_name": form["company_name"],
        "company_type": form["company_type"], "legal_representative": form["legal_representative"],
        "legal_representative_id_number": form["legal_representative_id_number"],
        "registered_capital_fen": form["registered_capital_fen"], "established_on": today,
        "operating_period_end": "长期", "address": form["address"], "business_scope": form["business_scope"]}


def _company_seal_filing(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    """Public security files the seals it allowed to be engraved, each with its 13-digit seal code."""
    kinds = [kind for kind in form["seal_set"].replace("，", "、").split("、") if kind]
    base = number[:6] + f"{_serial(number, 10**6):06d}"
    return "company_seal_filing", f"YZ-{number}", {
        "credit_code": form["credit_code"], "unit_name": form["company_name"],
        "legal_representative_id_number": form["legal_representative_id_number"],
        "filing_number": f"YZBA-{base}", "filed_on": today,
        "seals": [{"kind": kind, "seal_code": f"{base}{n}"} for n, kind in enumerate(kinds)]}


def _social_insurance_registration(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "social_insurance_registration", f"SIR-{number}", {
        "credit_code": form["credit_code"], "unit_name": form["company_name"],
        "legal_representative_id_number": form["legal_representative_id_number"],
        "registration_number": f"SB{_serial(number, 10**10):010d}", "registered_on": today}


def _housing_fund_unit(form: dict, number: str, today: str) -> tuple[str, str, dict]:
    return "housing_fund_unit_registration", f"HFU-{number}", {
        "credit_code": form["credit_code"], "unit_name": form["company_name"],
        "legal_representative_id_number": form["legal_representative_id_number"],
        "unit_account": f"GJJ{_serial(number, 10**9):09d}", "deposit_rate_percent": form["deposit_rate_percent"]}


# catalog code -> what its approval issues: (license type, number, data) from (form, application number,
# today in Beijing as YYYY-MM-DD: the stub's clock).
# A newborn's household entry, card and insurance are the child's own: their holder is the ID
# number birth registration gives, which each department derives alike from the birth certificate
# (they share the registration behind the hub; the hub's forms need not carry it).
ISSUES: dict[str, Callable[[dict, str, str], tuple[str, str, dict]]] = {
    "BDL-0001": _birth_certificate,
    "BDL-0002": _household_entry,
    "BDL-0003": _social_security_card,
    "BDL-0004": _medical_insurance,
    "BDL-0005": _vaccination,
    "BDL-0101": _business_license,
    "BDL-0102": _company_seal_filing,
    "BDL-0104": _social_insurance_registration,
    "BDL-0105": _housing_fund_unit,
}


# catalog code -> the license its approval ends: (license id, status body) from (form, number).
CHANGES: dict[str, Callable[[dict, str], tuple[str, dict]]] = {
    "BDL-0204": lambda form, number: (form["business_license_id"],
                                      {"status": "cancelled", "reason": f"企业注销登记（办件 {number}）"}),
}


def license_request(payload: dict[str, Any], today: str) -> dict | None:
    """What approving this application does to licenses, as a signed call to the hub: issuing one
    (``POST /gov/v1/licenses``) or ending one (``POST /gov/v1/licenses/{id}/status``, e.g. a
    company's business license cancelled when it is closed); None if nothing (or the form lacks
    what it needs: the application is still decided)."""
    matter_code, form, number = payload.get("matter_code"), payload.get("form"), payload.get("number")
    if not (isinstance(matter_code, str) and isinstance(form, dict) and isinstance(number, str)):
        return None
    catalog_code = matter_code.split("-", 1)[-1]
    try:
        if (change := CHANGES.get(catalog_code)) is not None:
            license_id, body = change(form, number)
            return {"path": f"gov/v1/licenses/{quote(license_id, safe='')}/status", "body": body}
        if (build := ISSUES.get(catalog_code)) is not None:
            type_code, license_number, data = build(form, number, today)
            return {"path": "gov/v1/licenses", "body": {"type": type_code, "number": license_number, "data": data}}
    except (KeyError, ValueError) as exc:
        log.warning("stub: %s approved without its license call (%s missing)", number, exc)
    return None


def with_issuance(events: list[tuple[str, str | None]], payload: dict, today: str) -> list[tuple[str, str | None]]:
    """The review script with the issuance placed just before ``completed`` when it approves."""
    names = [name for name, _ in events]
    if "approved" not in names or "completed" not in names:
        return events
    request = license_request(payload, today)
    if request is None:
        return events
    at = names.index("completed")
    return [*events[:at], (ISSUE, json.dumps(request, ensure_ascii=False)), *events[at:]]


# A repeat of a call whose first try was answered after all: the license exists, or is already final.
DONE_ALREADY = ("license_exists", "license_status_change_refused")


async def send(http: httpx.AsyncClient, client, callback: dict) -> tuple[str, int | None, str]:
    """Make one license call; ``("sent" | "retry" | "refused", status, text)``."""
    request = json.loads(callback["reason"])
    body = json.dumps(request["body"], ensure_ascii=False).encode()
    try:
        answer = await http.send(client.build("POST", request["path"], body))
    except httpx.TransportError as exc:
        return "retry", None, type(exc).__name__
    if answer.status_code in (200, 201) or (answer.status_code == 409 and any(c in answer.text for c in DONE_ALREADY)):
        return "sent", answer.status_code, answer.text
    if answer.status_code == 429 or answer.status_code >= 500:
        return "retry", answer.status_code, f"http {answer.status_code}"
    log.warning("stub: license call for %s refused by the hub: %s %s", callback["number"], answer.status_code,
                answer.text[:300])
    return "refused", answer.status_code, answer.text

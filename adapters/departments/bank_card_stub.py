"""The bank-card holder check (银行卡实名校验), offline: the test identities' cards.

A real check goes to a card-verification service (UnionPay or the paying bank) with the card
number, name and ID number, and answers match / mismatch. Here every card number is fixed
(docs/housing-fund.md lists them); any other valid number is "not found".
"""
from __future__ import annotations

from domain.housing_fund.ports import CardCheck
from domain.shared.errors import UpstreamUnavailable

# card number -> (holder ID number, holder name, bank)
CARDS = {
    "6222021001000000015": ("110105199003070017", "张丽", "中国工商银行"),   # alice
    "6217001002000000025": ("330106198805120023", "王强", "中国建设银行"),   # bob
    "6228481003000000003": ("330106198805120023", "王强", "中国农业银行"),   # bob, closed: the bank returns transfers
    "6214831004000000016": ("310115199208150037", "李娜", "招商银行"),       # carol
}
RETURNING_CARDS = {"6228481003000000003"}  # the fund centre stub's bank returns payouts to these


class StubBankCards:
    async def check_holder(self, *, card_no: str, name: str, id_number: str) -> CardCheck:
        holder = CARDS.get(card_no)
        if holder is None:
            return CardCheck(matched=False, reason="card_not_found")
        if (holder[0], holder[1]) != (id_number, name):
            return CardCheck(matched=False, bank_name=holder[2], reason="holder_mismatch")
        return CardCheck(matched=True, bank_name=holder[2])


class BankCardsNotConfigured:
    """Production without a card-verification service: every check is "unavailable", never a match."""

    async def check_holder(self, *, card_no: str, name: str, id_number: str) -> CardCheck:
        raise UpstreamUnavailable("银行卡校验服务未配置", system="bank_cards")

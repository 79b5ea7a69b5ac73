"""Reading a citizen's fund accounts from the centres: every centre asked, a short cache for
browsing, a fresh read for decisions about money, and "unreachable" never shown as "no account"."""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime

from domain.housing_fund import rules
from domain.housing_fund.errors import FundAccountNotFound
from domain.housing_fund.ports import AccountCache, FundCentres
from domain.housing_fund.views import CentreAccounts
from domain.shared.clock import Clock
from domain.shared.errors import UpstreamUnavailable
from domain.shared.vault import Vault

log = logging.getLogger("govhub.housing_fund")

ID_HASH_CONTEXT = "housing_fund.person"
ACCOUNTS_TTL_SECONDS = 30  # a short cache: the centre stays the source of truth
UNREACHABLE_MESSAGE = "该公积金中心暂时无法连接，账户信息以中心为准，请稍后再试"


class CentreAccountReader:
    def __init__(self, *, clock: Clock, vault: Vault, nodes, centres: FundCentres,
                 cache: AccountCache | None) -> None:
        """``nodes``: the nodes service (which centres there are)."""
        self.clock, self.vault, self.nodes, self.fund_centres, self.cache = clock, vault, nodes, centres, cache

    async def centres(self) -> list[tuple[str, str]]:
        """The active fund centres: (node code, name)."""
        return [(n.code, n.name) for n in await self.nodes.list()
                if rules.is_centre(n.code) and n.status == "active"]

    async def of_centre(self, code: str, name: str, who: dict, *, cached: bool, generation: int = 0) -> CentreAccounts:
        """One centre's accounts of ``who``; unreachable (never empty) when it cannot answer."""
        person = self.vault.lookup_hash(who["id_number"], context=ID_HASH_CONTEXT)[:32]
        key = f"accounts:{code}:{person}:{generation}"
        if cached and self.cache is not None and (hit := await self.cache.get_json(key)) is not None:
            return CentreAccounts(code, name, True, [account_from_json(a) for a in hit["accounts"]],
                                  datetime.fromisoformat(hit["as_of"]))
        try:
            found = await self.fund_centres.accounts(centre_code=code, id_number=who["id_number"], name=who["name"])
        except UpstreamUnavailable as error:
            log.warning("fund centre %s unreachable: %s", code, error.detail)
            return CentreAccounts(code, name, False, [], None)
        now = self.clock.now()
        if self.cache is not None:
            await self.cache.set_json(key, {"accounts": [account_to_json(a) for a in found],
                                            "as_of": now.isoformat()}, ttl_seconds=ACCOUNTS_TTL_SECONDS)
        return CentreAccounts(code, name, True, found, now)

    async def fresh(self, who: dict, centre_code: str, account_no: str) -> rules.Account:
        """A fresh read of one account (no cache): decisions about money use the centre's answer."""
        name = dict(await self.centres()).get(centre_code)
        if name is None:
            raise FundAccountNotFound(f"未找到公积金中心 {centre_code}")
        answer = await self.of_centre(centre_code, name, who, cached=False)
        if not answer.reachable:
            raise UpstreamUnavailable(UNREACHABLE_MESSAGE, system=centre_code)
        for account in answer.accounts:
            if account.account_no == account_no:
                return account
        raise FundAccountNotFound(f"在{name}未找到账号 {account_no}")

def account_to_json(account: rules.Account) -> dict:
    data = asdict(account)
    data["opened_on"] = account.opened_on.isoformat()
    data["sealed_on"] = account.sealed_on.isoformat() if account.sealed_on else None
    return data


def account_from_json(data: dict) -> rules.Account:
    return rules.Account(**{**data, "opened_on": date.fromisoformat(data["opened_on"]),
                            "sealed_on": date.fromisoformat(data["sealed_on"]) if data["sealed_on"] else None,
                            "history": tuple(rules.DepositMonth(**m) for m in data["history"])})

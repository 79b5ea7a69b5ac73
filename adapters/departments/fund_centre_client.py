"""The hub asking a housing-fund centre (住房公积金管理中心) for a citizen's accounts.

The centre contract (docs/housing-fund.md): ``POST {endpoint_url}/fund/accounts/query`` signed as
the hub (GOVHUB-SIG-V1), body ``{"id_number", "name"}``, answer ``{"accounts": [...]}``. The
endpoint is the centre's node endpoint (the one deliveries go to). A centre that cannot answer —
refused, timed out, 5xx, no endpoint — raises ``UpstreamUnavailable``: never an empty list.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx

from adapters.departments.node_client import SignedNodeClient
from domain.housing_fund.rules import Account, DepositMonth
from domain.nodes.errors import NodeNotFound
from domain.nodes.service import NodeRegistry
from domain.shared.errors import UpstreamError, UpstreamUnavailable

TIMEOUT = httpx.Timeout(5.0, connect=2.0)  # a citizen is waiting: one quick retry, then "unreachable"


class HttpFundCentres:
    def __init__(self, *, nodes: NodeRegistry, client_factory: Callable[..., SignedNodeClient],
                 retry_delays: tuple[float, ...] = (0.3,)) -> None:
        self._nodes, self._factory, self._retry_delays = nodes, client_factory, retry_delays

    async def accounts(self, *, centre_code: str, id_number: str, name: str) -> list[Account]:
        try:
            endpoint = (await self._nodes.get(centre_code)).endpoint_url
        except NodeNotFound:
            endpoint = None
        if not endpoint:
            raise UpstreamUnavailable(f"centre {centre_code} has no endpoint", system=centre_code)
        try:
            # a client per query: account queries are few, and nothing is left open at shutdown
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                client = self._factory(base_url=endpoint, http=http, retry_delays=self._retry_delays)
                answer = await client.request("POST", "fund/accounts/query",
                                              json={"id_number": id_number, "name": name})
            return [_account(centre_code, row) for row in answer.json()["accounts"]]
        except UpstreamUnavailable:
            raise
        except (UpstreamError, ValueError, KeyError, TypeError) as error:
            # a refusal or an answer we cannot read is no more "no accounts" than an outage is
            raise UpstreamUnavailable(f"centre {centre_code}: {error}", system=centre_code) from error


def _account(centre_code: str, row: dict) -> Account:
    return Account(
        centre_code=centre_code, centre_name=str(row["centre_name"]), account_no=str(row["account_no"]),
        status=str(row["status"]), balance_fen=int(row["balance_fen"]),
        monthly_deposit_fen=int(row["monthly_deposit_fen"]), deposit_months=int(row["deposit_months"]),
        opened_on=date.fromisoformat(row["opened_on"]),
        sealed_on=date.fromisoformat(row["sealed_on"]) if row.get("sealed_on") else None,
        employer=row.get("employer"),
        history=tuple(DepositMonth(month=str(m["month"]), amount_fen=int(m["amount_fen"]))
                      for m in row.get("history", [])))

"""The citizen channels, one row each: where its routes live, its token audience, its shapes.

Mini-programs get compact bodies (setData is slow above ~256 KB and capped near 1 MB: few fields,
short lists); the app gets richer ones and ETags for its offline cache
(../shared/design/channels.md). What truly differs beyond shapes (login, the phone number, the
messages a channel carries) is in ``bff/wechat``, ``bff/alipay`` and ``bff/mobile``; every route a
channel serves is mounted by ``bff/channel_blueprints.py``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.identity import token_rules
from bff.common import (
    application_presenters as applications,
    bundle_presenters as bundles,
    catalog_presenters as catalog,
    housing_fund_presenters as housing_fund,
    license_presenters as licenses,
    presenters as identity,
)


@dataclass(frozen=True)
class Shapes:
    """A channel's presenters: each carries the model it returns (``presenter.shape``)."""

    compact: bool  # mini-program bodies: few fields, small pages, no ETags
    person: Callable
    matter: Callable
    matter_detail: Callable
    home: Callable
    application: Callable
    application_detail: Callable
    material: Callable
    license: Callable
    fund_overview: Callable
    fund_eligibility: Callable
    fund_withdrawal: Callable
    bundle_run: Callable
    bundle_run_detail: Callable


@dataclass(frozen=True)
class Channel:
    """``name`` is the channel of its tokens' audience (domain/identity/token_rules.py), its
    blueprint's name and its OpenAPI tag; ``prefix`` is where its routes live."""

    name: str
    prefix: str
    shapes: Shapes

    @property
    def audience(self) -> str:
        return token_rules.audience_of(self.name)

    @property
    def face_verifications(self) -> str:
        """Where the channel's client starts a face verification (named by every step-up refusal)."""
        return f"{self.prefix}/me/face-verifications"


COMPACT = Shapes(
    compact=True, person=identity.person_compact, matter=catalog.summary_compact,
    matter_detail=catalog.detail_compact, home=catalog.home_compact, application=applications.summary_compact,
    application_detail=applications.detail_compact, material=applications.material,
    license=licenses.license_compact, fund_overview=housing_fund.overview_compact,
    fund_eligibility=housing_fund.eligibility_compact, fund_withdrawal=housing_fund.withdrawal_compact,
    bundle_run=bundles.summary_compact, bundle_run_detail=bundles.detail_compact)
FULL = Shapes(
    compact=False, person=identity.person_full, matter=catalog.summary_full,
    matter_detail=catalog.detail_full, home=catalog.home_full, application=applications.summary_full,
    application_detail=applications.detail_full, material=applications.material,
    license=licenses.license_summary, fund_overview=housing_fund.overview_full,
    fund_eligibility=housing_fund.eligibility_full, fund_withdrawal=housing_fund.withdrawal_full,
    bundle_run=bundles.summary_full, bundle_run_detail=bundles.detail_full)

CHANNELS = (
    Channel("wechat", "/wx/v1", COMPACT),
    Channel("alipay", "/alipay/v1", COMPACT),
    Channel("app", "/app/v1", FULL),
)
CHANNEL_NAMED = {channel.name: channel for channel in CHANNELS}

"""The business, one package per capability. ``MODEL_MODULES`` lists every module with tables."""

MODEL_MODULES = [
    "domain.shared.models",
    "domain.identity.models",
    "domain.nodes.models",
    "domain.regions.models",
    "domain.admin.models",
    "domain.audit.models",
    "domain.topics.models",
    "domain.catalog.models",
    "domain.delivery.models",
    "domain.applications.models",
    "domain.seals.models",
    "domain.sharing.models",
    "domain.health.models",
    "domain.licenses.models",
    # instant approval and notifications
    "domain.applications.business_names",
    "domain.notifications.models",
    "domain.housing_fund.models",
    "domain.bundles.models",
    "domain.figures.models",
]

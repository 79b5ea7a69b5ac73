"""Trust is typed: a seal's license types; a presentation bound to its token; a consent's assurance

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28

- ``seals.license_types``: the license types a seal may sign. The trust list publishes them with
  the seal's department, and both verifiers refuse a token outside them (docs/seals.md). Seals made
  before are bound to every type their department kind issued at this revision — what the hub let
  them sign until now (it chose seals by kind); the platform seal to none.
- ``license_presentations.signed_digest``: SHA-256 of the token made for the presentation; online
  verification refuses the id under any other payload. Older rows (three-minute tokens) have none
  and no longer verify.
- ``license_consents.granted_assurance``: the assurance of the citizen's session when they granted
  it; a release covers the fields the disclosure rule allows at that level. Older grants: none,
  counted as real name (L2).
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

# The catalog (domain/licenses/seed_data/license_types.json) as it stood: department kind -> types.
TYPES_OF_KIND = {
    "public_security": ["resident_id_card", "household_register", "driving_license", "vehicle_license",
                        "residence_permit", "company_seal_filing"],
    "health": ["birth_medical_certificate", "medical_practitioner_license", "nurse_practice_certificate",
               "vaccination_certificate"],
    "civil_affairs": ["marriage_certificate", "divorce_certificate", "subsistence_allowance_certificate"],
    "human_resources_social_security": ["social_security_card", "retirement_certificate",
                                        "professional_qualification", "employment_registration",
                                        "social_insurance_registration"],
    "medical_security": ["medical_insurance_certificate"],
    "education": ["degree_certificate", "graduation_certificate", "teacher_qualification"],
    "natural_resources": ["real_estate_certificate"],
    "housing_fund": ["housing_fund_account", "housing_fund_unit_registration"],
    "exit_entry": ["passport", "hk_macao_permit"],
    "disabled_persons_federation": ["disability_certificate"],
    "veterans_affairs": ["veteran_preferential_card"],
    "tax": ["tax_payment_certificate", "tax_credit_rating"],
    "market_supervision": ["business_license", "individual_business_license", "food_business_license",
                           "drug_business_license"],
}


def upgrade() -> None:
    op.add_column("seals", sa.Column("license_types", JSON, nullable=False, server_default=sa.text("'[]'")))
    seals = sa.table("seals", sa.column("department_kind", sa.String), sa.column("license_types", JSON))
    for kind, types in TYPES_OF_KIND.items():
        op.execute(seals.update().where(seals.c.department_kind == kind).values(license_types=types))
    op.add_column("license_presentations", sa.Column("signed_digest", sa.String(64), nullable=True))
    op.add_column("license_consents", sa.Column("granted_assurance", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("license_consents") as batch:  # SQLite drops a column by rebuilding
        batch.drop_column("granted_assurance")
    with op.batch_alter_table("license_presentations") as batch:
        batch.drop_column("signed_digest")
    with op.batch_alter_table("seals") as batch:
        batch.drop_column("license_types")


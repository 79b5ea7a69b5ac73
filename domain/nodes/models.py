"""Tables owned by nodes: the registry of departments and provincial platforms."""
from __future__ import annotations

from tortoise import fields, models


class Node(models.Model):
    """A machine identity (节点): a State Council department, a local department or a provincial
    platform. It signs every ``/gov/v1`` request with its private key; the hub keeps the public key."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=16)  # department | province
    name = fields.CharField(max_length=128)
    region_code = fields.CharField(max_length=12)
    public_key = fields.TextField()  # PEM, EC P-256
    status = fields.CharField(max_length=16, default="active")  # active | disabled
    # where the hub delivers to this node (POST {endpoint_url}/deliveries, docs/delivery.md);
    # null: the node only calls the hub
    endpoint_url = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "nodes"

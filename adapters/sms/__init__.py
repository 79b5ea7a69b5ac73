"""SMS gateway: delivers login codes for the mobile app."""

from adapters.sms.client import HttpSmsSender

__all__ = ["HttpSmsSender"]

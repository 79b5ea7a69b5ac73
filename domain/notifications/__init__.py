"""Notifications to citizens about their applications, on the channel they applied from (docs/notifications.md)."""

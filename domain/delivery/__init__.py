"""The outbox: deliveries to departments, provinces and notification channels, and their relay."""

"""Notification channels and the notifier that empties the alerts outbox."""

"""Watching chains through Tatum: subscriptions, notifications (hints) and their CLI."""

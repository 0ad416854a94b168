"""Webhook delivery: signing, target checks, the durable outbox and its dispatcher."""

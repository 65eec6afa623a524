"""Signed webhooks from a transactional outbox. A low layer (imports access and jobs only), so
that every feature's actions can call `actions.emit` in the transaction of their change."""

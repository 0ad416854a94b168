"""Books that match the chain: the payments export, reconciliation, wallet gaps, stats."""

"""Use cases over storage and the domain: orders, API keys, chain registry."""

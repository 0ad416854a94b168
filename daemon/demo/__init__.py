"""``paywatch demo``: local dev chains, a verifying store and the daemon, paid for real.

- :mod:`~daemon.demo.nodes`: anvil and (when installed) a Litecoin Core regtest node.
- :mod:`~daemon.demo.token`: the ERC-20 the demo deploys on anvil to take USDC.
- :mod:`~daemon.demo.store`: the store's webhook endpoint, verifying every signature.
- :mod:`~daemon.demo.settings`: the daemon's config for the demo.
- :mod:`~daemon.demo.view`: the live table of orders.
- :mod:`~daemon.demo.tour`: create the orders, pay them, wait for ``paid``.
- :mod:`~daemon.demo.run`: start everything, run the tour, clean up on every path.

Nothing starts at import time.
"""

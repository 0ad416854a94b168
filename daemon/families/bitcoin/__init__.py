"""The Bitcoin family: Bitcoin and Litecoin through Bitcoin Core's RPC (``type: bitcoin``,
``type: litecoin``). What the daemon uses of it is :data:`daemon.families.bitcoin.family.FAMILY`."""

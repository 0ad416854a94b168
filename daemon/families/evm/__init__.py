"""The EVM family: Ethereum, Polygon and any EVM chain by chain id (``type: evm``). What
the daemon uses of it is :data:`daemon.families.evm.family.FAMILY`."""

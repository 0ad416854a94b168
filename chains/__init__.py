"""Chain adapters: key derivation, node clients, block and transfer extraction.

This package never imports :mod:`daemon`; it knows nothing about orders.
"""

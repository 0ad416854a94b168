"""Hierarchical-deterministic key code shared by the Bitcoin-family and EVM adapters.

Public derivation only: nothing here accepts, derives or stores a private key.
"""

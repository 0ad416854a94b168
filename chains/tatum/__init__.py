"""Tatum: its RPC gateway's addresses, its v4 subscription API and its notifications."""

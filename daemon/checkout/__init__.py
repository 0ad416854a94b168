"""The checkout page customers pay from (GET /pay/{token})."""

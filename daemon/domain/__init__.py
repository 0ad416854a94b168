"""The pure domain: money, order states and their evaluation. No I/O lives here."""

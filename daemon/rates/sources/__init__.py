"""The public exchange APIs paywatch reads rates from, one module each, and the
registry of their kinds (``rates.sources: [kraken, coinbase, bitstamp]``)."""

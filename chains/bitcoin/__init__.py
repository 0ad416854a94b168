"""Bitcoin-family (Bitcoin, Litecoin) address derivation from extended public keys."""

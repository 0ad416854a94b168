"""EVM-chain (Ethereum and compatible) address derivation and payment URIs."""

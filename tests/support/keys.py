"""Public keys of the BIP test mnemonic "abandon (x11) about" and their first addresses.

Computed from the published BIP-44/84/86 vectors; never use this mnemonic for money.
"""

from __future__ import annotations

BTC_ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDK"
    "f31mGDtKsAYz2oz2AGutZYs"
)
BTC_ZPUB_FIRST = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
BTC_REGTEST_VPUB = (
    "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjA"
    "vtbBrf8ZhDYe2jWAqvZVnsc"
)
BTC_TESTNET_FIRST = "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl"
LTC_ZPUB = (
    "zpub6rPo5mF47z5coVm5rvWv7fv181awb7Vckn5Cf3xQXBVKu18kuBHDhNi1Jrb4br6vVD3ZbrnXemEsWJoR18mZ"
    "wkUdzwD8TQnHDUCGxqZ6swA"
)
LTC_FIRST = "ltc1qjmxnz78nmc8nq77wuxh25n2es7rzm5c2rkk4wh"
ETH_XPUB = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZa"
    "M6si3yZdUsT8ddYM3PwnATt"
)
ETH_FIRST = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
USDC_CONTRACT = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"

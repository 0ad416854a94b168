"""The longest run of unpaid addresses, against a plain count over every index."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.accounting.gaps import WALLET_DEFAULT_GAP_LIMIT, KeyGap, longest_run


def counted(paid: set[int], highest: int) -> int:
    longest = run = 0
    for index in range(highest + 1):
        run = 0 if index in paid else run + 1
        longest = max(longest, run)
    return longest


@given(st.integers(0, 300), st.sets(st.integers(0, 400)))
def test_longest_run_is_the_longest_unpaid_stretch(highest: int, paid: set[int]) -> None:
    assert longest_run(sorted(paid), highest) == counted(paid, highest)


def test_nothing_handed_out_and_the_trailing_run() -> None:
    assert longest_run([], None) == 0
    assert longest_run([], 0) == 1
    assert longest_run([0, 1, 2], 2) == 0
    assert longest_run([3], 26) == 23  # the trailing 4..26 is longer than 0..2


def test_gap_limit_is_one_past_the_run_and_never_below_the_wallets_default() -> None:
    gap = KeyGap("k", ["eth", "polygon"], 26, per_chain={"eth": 22, "polygon": 5})
    assert gap.longest_unpaid_run == 22
    assert gap.gap_limit == 23
    assert gap.to_json()["per_chain"]["polygon"]["gap_limit"] == WALLET_DEFAULT_GAP_LIMIT
    assert "importdescriptors" not in gap.to_json()  # no descriptor: an EVM key
    assert gap.to_json()["descriptor"] is None


def test_the_import_request_covers_every_index_given_out() -> None:
    gap = KeyGap("k", ["btc"], 9, descriptors={"btc": "wpkh(xpub/0/*)#abcdefgh"})
    gap.first_order_at = 1_700_000_000
    body = gap.to_json()
    assert body["range"] == [0, 9]
    (entry,) = body["importdescriptors"]["params"][0]
    assert entry == {
        "desc": "wpkh(xpub/0/*)#abcdefgh",
        "range": [0, 9],
        "timestamp": 1_700_000_000,
        "internal": False,
        "active": False,
    }
    assert KeyGap("k", ["btc"], None, descriptors={"btc": "d"}).import_request() is None

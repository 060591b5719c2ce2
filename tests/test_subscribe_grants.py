"""Subscribe-message grants: concurrent first acceptances of one template (the mini-program
reporting several taps at once, on several workers) all count, none fails."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from coupon_helpers import factory, join
from wx_member.pushes import subscriptions


def test_concurrent_first_grants_of_one_template_all_count(session):
    m = join(session, "oSub")
    sessions = factory(session)

    def accept(i: int) -> dict[str, int]:
        with sessions() as s:
            return subscriptions.record(s, m.id, {"TPL_SHIP": "accept", f"TPL_{i % 2}": "accept"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(accept, range(16)))
    assert len(results) == 16  # no primary-key conflict, no deadlock surfaced
    with sessions() as s:
        assert subscriptions.remaining(s, m.id) == {"TPL_0": 8, "TPL_1": 8, "TPL_SHIP": 16}

"""A PSA whose reads of agreements' lines meet: proof that a service keeps several of them in flight."""

from __future__ import annotations

import threading

from app.services.psa.fake import FakePsa
from app.services.psa.port import lines_one_by_one


class MeetingPsa(FakePsa):
    """Each read of an agreement's lines waits until ``together`` of them are in flight: read one after another,
    they never meet and the read fails (threading.BrokenBarrierError). It reads one agreement a request, as
    ConnectWise does, and takes three requests at once."""

    concurrency = 3

    def __init__(self, together: int) -> None:
        super().__init__()
        self.meet = threading.Barrier(together, timeout=10)

    def list_lines(self, agreement_id, product_ids=None):
        if agreement_id in self._agreements:  # a read the PSA answers; one it refuses answers at once
            self.meet.wait()
        return super().list_lines(agreement_id, product_ids)

    def list_lines_of(self, agreement_ids):
        return lines_one_by_one(self, agreement_ids)

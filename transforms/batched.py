"""A DoFn run over batches of elements (where per-element overhead would dominate)."""

from __future__ import annotations

import apache_beam as beam


class BatchedParDo(beam.PTransform):
    """Elements → batches of up to `max_batch_size` (Beam's BatchElements, adaptive) → `dofn`,
    whose `process` takes a list and yields the results element by element."""

    def __init__(self, dofn: beam.DoFn, max_batch_size: int, step: str):
        super().__init__()
        self.dofn, self.max_batch_size, self.step = dofn, max_batch_size, step

    def expand(self, elements):
        return (
            elements
            | "Batch" >> beam.BatchElements(min_batch_size=self.max_batch_size, max_batch_size=self.max_batch_size)
            | self.step >> beam.ParDo(self.dofn)
        )

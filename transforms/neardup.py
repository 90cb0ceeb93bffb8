"""Near-duplicate documents: MinHash signatures, LSH buckets, connected components, in Beam.

Signatures are computed per input (staging, `ComputeSignatures`, batched and vectorised); the global
phase (`NearDedup`) starts from one document per exact-duplicate group:

    band hashes, vectorised per batch of documents ─▶ group by (band, partition of the hash)
    ─▶ each partition sorts its hashes: runs of equal hashes are the LSH buckets
    ─▶ candidate pairs inside each bucket (every pair of a small bucket, a star to the minimum of a
    large one)
    ─▶ the signatures of the candidates' nodes (one join over all documents; the rest is small)
    ─▶ verified pairs (estimated Jaccard of the full signatures ≥ min_similarity)
    ─▶ connected components: alternating large-star / small-star passes (Kiveris et al., 2014),
       each a GroupByKey over the edges — no worker holds the graph
    ─▶ every node linked to a preferred one: a `Duplicate(kind="near")` pointing at its
       component's representative, with their estimated Jaccard similarity.

A node is a compact tuple (`node_of`) that sorts like exact dedup's preference — the previous
build's documents first, then the earliest fetch, the shortest URL, then the id — so the minimum of
a component is its representative, whatever order or runner the documents come in.
"""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from transforms.batched import BatchedParDo
from transforms.config import NearDedupConfig
from transforms.dedup import DocKey
from transforms.minhash import UNSPACED_SCRIPTS, MinHasher, band_hashes, similarity
from transforms.records import Duplicate

Node = tuple  # (0 for the previous build else 1, fetched µs, len(url), id): compact, sortable

DOCS_PER_PARTITION = 50_000  # documents per LSH partition (a reducer sorts ~this many hashes)
CLIQUE_BUCKET = 8  # buckets up to this size propose every pair; larger ones a star to their minimum
_NEVER = 1 << 62


def node_of(key: DocKey) -> Node:
    """A compact key that sorts in (nearly) the order of exact dedup's preference: previous build
    first, earliest fetch, shortest URL; ties by id rather than by URL, so no URL is carried."""
    fetched = int(key.fetched_at.timestamp() * 1_000_000) if key.fetched_at else _NEVER
    return (0 if key.previous else 1, fetched, len(key.url), key.id)


def bucket_pairs(members) -> list[tuple[Node, Node]]:
    """Candidate pairs of one LSH bucket: every pair of a small bucket (so verification can link
    members that are similar to each other but not to the minimum), a star to the minimum in a
    large one (linear in its size)."""
    members = sorted(set(members))
    if len(members) <= CLIQUE_BUCKET:
        return [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
    return [(members[0], other) for other in members[1:]]


def large_star(adjacent: tuple[Node, list[Node]]):
    """Each larger neighbour of u is linked to the minimum of u's neighbourhood (u included)."""
    u, neighbours = adjacent
    neighbours = set(neighbours)
    m = min(neighbours | {u})
    for v in neighbours:
        if v > u:
            yield v, m


def small_star(adjacent: tuple[Node, list[Node]]):
    """u and its smaller neighbours are all linked to the smallest of them."""
    u, smaller = adjacent
    group = set(smaller) | {u}
    m = min(group)
    for v in group:
        if v != m:
            yield v, m


class _Signatures(beam.DoFn):
    """[(key, Doc)] → (key, Doc) with `minhash` set (None when the text has no shingle)."""

    def __init__(self, config: NearDedupConfig):
        self.config = config
        self.documents = Metrics.counter("minhash", "documents")

    def setup(self):
        self.hasher = MinHasher(self.config.minhash())

    def process(self, batch):
        signatures = self.hasher.signatures([doc.text for _, doc in batch],
                                            [doc.script in UNSPACED_SCRIPTS for _, doc in batch])
        self.documents.inc(len(batch))
        for (key, doc), signature in zip(batch, signatures):
            yield key, replace(doc, minhash=None if signature is None else signature.astype("<u4").tobytes())


def ComputeSignatures(config: NearDedupConfig) -> beam.PTransform:  # noqa: N802 (a transform)
    """(key, Doc) → (key, Doc) with its MinHash signature; batched."""
    return BatchedParDo(_Signatures(config), config.batch_size, "Signatures")


def _similarities(pairs, signatures, name: str):
    """(a, b) node pairs → (a, b, estimated Jaccard), joining each end with its signature."""

    def attach_first(element):
        _, grouped = element
        signature = next(iter(grouped["sig"]), None)
        for a, b in grouped["pair"]:
            yield b, (a, signature)

    def attach_second(element):
        b, grouped = element
        signature = next(iter(grouped["sig"]), None)
        for a, signature_a in grouped["pair"]:
            yield a, b, similarity(signature_a, signature)

    first = (
        {"pair": pairs | f"{name}ByFirst" >> beam.Map(lambda ab: (ab[0], ab)), "sig": signatures}
        | f"{name}JoinFirst" >> beam.CoGroupByKey()
        | f"{name}AttachFirst" >> beam.FlatMap(attach_first)
    )
    return (
        {"pair": first, "sig": signatures}
        | f"{name}JoinSecond" >> beam.CoGroupByKey()
        | f"{name}AttachSecond" >> beam.FlatMap(attach_second)
    )


def connected_components(edges, rounds: int):
    """Undirected edges (a, b) → (node, its component's minimum) for every node that is not one;
    `rounds` alternations of large-star and small-star, then each node's smallest neighbour."""
    for r in range(rounds):
        edges = (
            edges
            | f"Large{r}Both" >> beam.FlatMap(lambda ab: [(ab[0], ab[1]), (ab[1], ab[0])])
            | f"Large{r}Group" >> beam.GroupByKey()
            | f"Large{r}Star" >> beam.FlatMap(large_star)
            | f"Small{r}Down" >> beam.Map(lambda ab: (max(ab), min(ab)))
            | f"Small{r}Group" >> beam.GroupByKey()
            | f"Small{r}Star" >> beam.FlatMap(small_star)
        )
    unfinished = Metrics.counter("near_dedup", "nodes_with_several_smaller_neighbours")

    def label(element):
        v, smaller = element
        smaller = set(smaller)
        if len(smaller) > 1:
            unfinished.inc()
        yield v, min(smaller)

    return (
        edges
        | "LabelDown" >> beam.Map(lambda ab: (max(ab), min(ab)))
        | "LabelGroup" >> beam.GroupByKey()
        | "Label" >> beam.FlatMap(label)
    )


class NearDedup(beam.PTransform):
    """PCollection[DocKey] (one per exact-duplicate group, with signatures) →
    PCollection[(DocKey, Duplicate)]: every near-duplicate to drop, pointing at what it duplicates."""

    def __init__(self, config: NearDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, keys):
        config = self.config
        mh = config.minhash()
        candidates = Metrics.counter("near_dedup", "candidate_pairs")
        linked = Metrics.counter("near_dedup", "linked_pairs")
        removed = Metrics.counter("near_dedup", "removed")

        with_signature = keys | "WithSignature" >> beam.Filter(lambda k: k.minhash is not None)
        # what the outputs need of a node, joined back only for the nodes of candidate pairs
        info = with_signature | "Info" >> beam.Map(
            lambda k: (node_of(k), (k.url, k.lang, k.n_bytes, k.minhash)))

        def band_batches(batch, documents):
            """A batch of documents → one element per (band, partition) it touches, holding the
            band hashes (numpy) and the nodes: ~bands × partitions elements per batch, not
            bands per document. Partitions: one per DOCS_PER_PARTITION documents of the corpus,
            at most `lsh_partitions` (few for a small corpus, whose groups would be tiny)."""
            partitions = max(1, min(config.lsh_partitions, documents // DOCS_PER_PARTITION))
            nodes = [node_of(k) for k in batch]
            signatures = np.stack([np.frombuffer(k.minhash, dtype="<u4") for k in batch])
            hashes = band_hashes(signatures, mh)  # (documents, bands)
            part = (hashes % np.uint64(partitions)).astype(np.int64)
            for band in range(mh.bands):
                for p in np.unique(part[:, band]):
                    rows = np.flatnonzero(part[:, band] == p)
                    yield (band, int(p)), (hashes[rows, band], [nodes[i] for i in rows])

        def buckets_of(element):
            """One (band, partition): sort its band hashes, every run of equal hashes is a bucket."""
            _, chunks = element
            chunks = list(chunks)
            hashes = np.concatenate([h for h, _ in chunks])
            nodes = [n for _, ns in chunks for n in ns]
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
            starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
            ends = np.concatenate((starts[1:], [len(ordered)]))
            for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
                pairs = bucket_pairs([nodes[i] for i in order[start:end]])
                candidates.inc(len(pairs))
                yield from pairs

        edges = (
            with_signature
            | "BatchForBands" >> beam.BatchElements(min_batch_size=1, max_batch_size=config.batch_size * 4)
            | "BandPartitions" >> beam.FlatMap(band_batches, documents=beam.pvalue.AsSingleton(
                with_signature | "CountDocuments" >> beam.combiners.Count.Globally()))
            | "GroupByPartition" >> beam.GroupByKey()
            | "BucketEdges" >> beam.FlatMap(buckets_of)
            | "DistinctEdges" >> beam.Distinct()
        )

        def needed(element):
            node, grouped = element
            if list(grouped["need"]):
                for value in grouped["info"]:
                    yield node, value

        candidate_info = (
            {"info": info,
             "need": edges | "EdgeNodes" >> beam.FlatMap(lambda ab: [(ab[0], None), (ab[1], None)])}
            | "JoinCandidates" >> beam.CoGroupByKey()
            | "CandidateInfo" >> beam.FlatMap(needed)
        )
        signatures = candidate_info | "CandidateSignatures" >> beam.MapTuple(lambda node, i: (node, i[3]))
        if config.min_similarity > 0:
            def verified(abs_):
                if abs_[2] >= config.min_similarity:
                    linked.inc()
                    yield abs_[0], abs_[1]

            edges = _similarities(edges, signatures, "Verify") | "Verified" >> beam.FlatMap(verified)
        labels = connected_components(edges, config.cc_rounds)

        def attach_representative(element):
            representative, grouped = element
            rep_info = next(iter(grouped["info"]), None)
            for node in grouped["member"]:
                yield node, (representative, rep_info)

        def duplicate(element):
            node, grouped = element
            own = next(iter(grouped["info"]), None)
            for representative, rep_info in grouped["rep"]:
                if node[0] == 0:  # a document of the previous build stays where it is
                    continue
                removed.inc()
                url, lang, n_bytes, signature = own
                key = DocKey(node[3], url, lang, None, n_bytes)
                kind = "near_previous" if representative[0] == 0 else "near"
                yield key, Duplicate(key.id, url, representative[3], rep_info[0], kind,
                                     similarity(signature, rep_info[3]), lang)

        with_rep = (
            {"member": labels | "ByRepresentative" >> beam.Map(lambda vm: (vm[1], vm[0])),
             "info": candidate_info}
            | "JoinRepresentative" >> beam.CoGroupByKey()
            | "AttachRepresentative" >> beam.FlatMap(attach_representative)
        )
        return (
            {"rep": with_rep, "info": candidate_info}
            | "JoinMember" >> beam.CoGroupByKey()
            | "Duplicates" >> beam.FlatMap(duplicate)
        )

"""Near-duplicate documents: MinHash signatures, LSH buckets, connected components, in Beam.

Signatures are computed per input (staging, `ComputeSignatures`, batched and vectorised); the global
phase (`NearDedup`) starts from one document per exact-duplicate group:

    band keys ─▶ group by key ─▶ star edges inside each bucket (to its preferred member)
    ─▶ verified pairs (estimated Jaccard of the full signatures ≥ min_similarity)
    ─▶ connected components: alternating large-star / small-star passes (Kiveris et al., 2014),
       each a GroupByKey over the edges — no worker holds the graph
    ─▶ every node linked to a preferred one: a `Duplicate(kind="near")` pointing at its
       component's representative, with their estimated Jaccard similarity.

A node is a plain tuple that sorts in the order of preference of exact dedup (earliest fetch,
shortest URL, URL, id — see `DocKey.preference`) followed by what the outputs need (language, size):
the minimum of a component is its representative, whatever order or runner the documents come in.
"""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from transforms.batched import BatchedParDo
from transforms.config import NearDedupConfig
from transforms.dedup import DocKey, pref_id, pref_is_previous, pref_url
from transforms.minhash import UNSPACED_SCRIPTS, MinHasher, band_keys, similarity
from transforms.records import Duplicate

Node = tuple  # DocKey.preference() + (lang, n_bytes)


def node_of(key: DocKey) -> Node:
    return (*key.preference(), key.lang, key.n_bytes)


def star_edges(members) -> list[tuple[Node, Node]]:
    """A bucket's members linked to its minimum (a star has the component of a clique)."""
    members = sorted(set(members))
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

        nodes = (keys | "WithSignature" >> beam.Filter(lambda k: k.minhash is not None)
                 | "Node" >> beam.Map(lambda k: (node_of(k), k.minhash)))

        def bucket_edges(element):
            for edge in star_edges(element[1]):
                candidates.inc()
                yield edge

        edges = (
            nodes
            | "BandKeys" >> beam.FlatMap(lambda ns: [
                (key, ns[0]) for key in band_keys(np.frombuffer(ns[1], dtype="<u4"), mh)])
            | "GroupByBand" >> beam.GroupByKey()
            | "BucketEdges" >> beam.FlatMap(bucket_edges)
            | "DistinctEdges" >> beam.Distinct()
        )
        if config.min_similarity > 0:
            def verified(abs_):
                if abs_[2] >= config.min_similarity:
                    linked.inc()
                    yield abs_[0], abs_[1]

            edges = _similarities(edges, nodes, "Verify") | "Verified" >> beam.FlatMap(verified)
        labels = connected_components(edges, config.cc_rounds)

        def duplicate(pair_sim):
            representative, node, sim = pair_sim
            if pref_is_previous(node):  # a document of the previous build stays where it is
                return
            removed.inc()
            *preference, lang, n_bytes = node
            key = DocKey(pref_id(preference), pref_url(preference), lang, None, n_bytes)
            kind = "near_previous" if pref_is_previous(representative) else "near"
            yield key, Duplicate(key.id, key.url, pref_id(representative), pref_url(representative),
                                 kind, sim, lang)

        return (
            _similarities(labels | "RepresentativeFirst" >> beam.Map(lambda vm: (vm[1], vm[0])), nodes,
                          "ToRepresentative")
            | "Duplicates" >> beam.FlatMap(duplicate)
        )

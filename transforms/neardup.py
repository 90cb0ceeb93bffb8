"""Near-duplicate documents: MinHash signatures, LSH buckets, connected components, in Beam.

Signatures are computed per input (staging, `ComputeSignatures`, batched and vectorised); the global
phase (`NearDedup`) starts from one document per exact-duplicate group:

    band hashes, vectorised per batch of documents ─▶ group by (band, partition of the hash)
    ─▶ each partition sorts its hashes: runs of equal hashes are the LSH buckets
    ─▶ candidate pairs inside each bucket (every pair of a small bucket, a star to the minimum of a
    large one)
    ─▶ joined with the signatures of both ends (two joins with the documents' partitions)
    ─▶ verified pairs (estimated Jaccard of the full signatures ≥ min_similarity)
    ─▶ connected components in rounds, each one GroupByKey: every partition of the nodes runs a
       union-find over its own edges and links each local component to its minimum (the graph's
       components are unchanged, and contract towards their minima) — no worker holds the graph
    ─▶ every node linked to a preferred one: a `Duplicate(kind="near")` pointing at its
       component's representative, with their estimated Jaccard similarity.

Every shuffle is keyed by a partition (P of them, one per `partition_docs` documents) and carries
lists, not single pairs: Beam's cost is per element, and a reducer holds one partition's share —
about the same whatever the corpus size — instead of one key per node.

A node is a compact tuple (`node_of`) that sorts like exact dedup's preference — the previous
build's documents first, then the earliest fetch, the shortest URL, then the id — so the minimum of
a component is its representative, whatever order or runner the documents come in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import apache_beam as beam
import numpy as np
import xxhash
from apache_beam.metrics import Metrics

from transforms.batched import BatchedParDo
from transforms.config import NearDedupConfig
from transforms.dedup import DocKey
from transforms.minhash import UNSPACED_SCRIPTS, MinHasher, band_hashes, similarity
from transforms.records import Duplicate

Node = tuple  # (0 for the previous build else 1, fetched µs, len(url), id): compact, sortable

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


def partitions_for(documents: int, config: NearDedupConfig) -> int:
    """How many partitions every shuffle of the stage uses: one per `partition_docs` documents, at
    least one, at most `lsh_partitions`; so a reducer holds about the same share whatever the corpus."""
    return max(1, min(config.lsh_partitions, documents // config.partition_docs))


def part_of(node: Node, partitions: int) -> int:
    """The partition of a node: a hash of its id (its last field)."""
    return xxhash.xxh3_64_intdigest(node[-1].encode("utf-8", "surrogatepass")) % partitions if partitions > 1 else 0


def scatter(items, node_of_item, partitions: int):
    """Items → [(partition, [items])], by the partition of each item's node: one shuffle element per
    (sending bundle, receiving partition) instead of one per item."""
    out: dict[int, list] = defaultdict(list)
    for item in items:
        out[part_of(node_of_item(item), partitions)].append(item)
    return list(out.items())


def _flat(lists):
    return (item for batch in lists for item in batch)


_CC_PARTITION = Metrics.distribution("near_dedup", "cc_partition_edges")


def _contract_partition(element, partitions: int):
    """One round of connected components on one partition: its directed edges (every edge whose
    source lives here, so each undirected edge is seen by both ends' partitions) → a local
    union-find → every node of a local component linked to the component's minimum, both ways, sent
    to the source's partition. Each edge lies inside one local component, so the components of the
    whole graph are unchanged; a component held by one partition is finished in one round, others
    contract towards their minimum round by round. A reducer holds one partition, never the graph."""
    _, lists = element
    lists = list(lists)
    _CC_PARTITION.update(sum(len(batch) for batch in lists))
    parent: dict[Node, Node] = {}

    def root(x: Node) -> Node:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in _flat(lists):
        a, b = root(u), root(v)
        if a != b:
            parent[max(a, b)] = min(a, b)
    out = []
    for x in parent:
        m = root(x)
        if m != x:
            out += [(x, m), (m, x)]
    return scatter(out, lambda uv: uv[0], partitions)


def _cc_partitions(directed, rounds: int, partitions):
    """Partition-batched directed edges (both directions present) → (partition, [(node, its
    component's minimum)]) for every node that is not a minimum: `rounds` of partition-local
    contraction, then each node's smallest neighbour (a node left with several smaller neighbours —
    its component unfinished — is counted and keeps its document: never fewer kept, only more)."""
    for r in range(rounds):
        directed = (
            directed
            | f"Round{r}Group" >> beam.GroupByKey()
            | f"Round{r}Contract" >> beam.FlatMap(_contract_partition, partitions=partitions)
        )
    unfinished = Metrics.counter("near_dedup", "nodes_with_several_smaller_neighbours")

    def label(element):
        p, lists = element
        smaller: dict[Node, set] = defaultdict(set)
        for u, v in _flat(lists):
            if v < u:
                smaller[u].add(v)
        for _ in (s for s in smaller.values() if len(s) > 1):
            unfinished.inc()
        yield p, [(u, min(s)) for u, s in smaller.items()]

    return directed | "LabelGroup" >> beam.GroupByKey() | "Label" >> beam.FlatMap(label)


def connected_components(edges, rounds: int, partitions=1):
    """Undirected edges (a, b) → (node, its component's minimum) for every node that is not one,
    with every shuffle batched by node partition (`partitions`: an int or a singleton side input)."""
    directed = (
        edges
        | "BatchEdges" >> beam.BatchElements(min_batch_size=4096, max_batch_size=4096)
        | "ScatterEdges" >> beam.FlatMap(
            lambda batch, partitions: scatter([d for a, b in batch for d in ((a, b), (b, a))],
                                              lambda uv: uv[0], partitions), partitions=partitions)
    )
    return _cc_partitions(directed, rounds, partitions) | "Labels" >> beam.FlatMap(lambda pl: pl[1])


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
        # what one reducer holds at a time (its max should not grow with the corpus; a skewed
        # partition shows here)
        band_group = Metrics.distribution("near_dedup", "band_group_documents")
        join_partition = Metrics.distribution("near_dedup", "join_partition_documents")

        with_signature = keys | "WithSignature" >> beam.Filter(lambda k: k.minhash is not None)
        partitions = beam.pvalue.AsSingleton(
            with_signature
            | "CountDocuments" >> beam.combiners.Count.Globally()
            | "Partitions" >> beam.Map(partitions_for, config))
        size = config.batch_size * 4
        batches = (
            with_signature
            | "BatchDocuments" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
            | "Columns" >> beam.Map(lambda batch: ([node_of(k) for k in batch],
                                                   [(k.url, k.lang, k.n_bytes, k.minhash) for k in batch]))
        )

        def scatter_batch(batch, partitions):
            """A batch of documents (nodes, infos) → its band hashes, one element per (band, partition
            of the hash) it touches (~bands × partitions elements per batch, not bands per document),
            and its infos (url, lang, n_bytes, signature) by the partition of their node."""
            nodes, infos = batch
            signatures = np.frombuffer(b"".join(i[3] for i in infos), dtype="<u4").reshape(len(nodes), -1)
            hashes = band_hashes(signatures, mh)  # (documents, bands)
            part = (hashes % np.uint64(partitions)).astype(np.int64)
            for band in range(mh.bands):
                for p in np.unique(part[:, band]):
                    rows = np.flatnonzero(part[:, band] == p)
                    yield (band, int(p)), (hashes[rows, band], [nodes[i] for i in rows])
            for p, batch in scatter(list(zip(nodes, infos)), lambda ni: ni[0], partitions):
                yield beam.pvalue.TaggedOutput("info", (p, batch))

        def buckets_of(element, partitions):
            """One (band, partition): sort its band hashes, every run of equal hashes is a bucket;
            its candidate pairs go to the partition of their first node."""
            _, chunks = element
            chunks = list(chunks)
            hashes = np.concatenate([h for h, _ in chunks])
            nodes = [n for _, ns in chunks for n in ns]
            band_group.update(len(nodes))
            order = np.argsort(hashes, kind="stable")
            ordered = hashes[order]
            starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
            ends = np.concatenate((starts[1:], [len(ordered)]))
            pairs = []
            for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
                pairs.extend(bucket_pairs([nodes[i] for i in order[start:end]]))
            return scatter(pairs, lambda ab: ab[0], partitions)

        scattered = batches | "Scatter" >> beam.FlatMap(scatter_batch, partitions=partitions).with_outputs(
            "info", main="bands")
        infos = scattered.info
        pairs = (
            scattered.bands
            | "GroupByBand" >> beam.GroupByKey()
            | "BucketPairs" >> beam.FlatMap(buckets_of, partitions=partitions)
        )

        def attach_first(element, partitions):
            """The candidate pairs of one partition (their first node's), deduplicated across
            bands → (a, a's info, b), sent to b's partition."""
            _, grouped = element
            info = dict(_flat(grouped["info"]))
            join_partition.update(len(info))
            unique = set(_flat(grouped["pairs"]))
            candidates.inc(len(unique))
            return scatter([(a, info[a], b) for a, b in unique], lambda aib: aib[2], partitions)

        def verify(element, partitions):
            """(a, a's info, b) of b's partition → the linked pairs (estimated Jaccard of the full
            signatures ≥ min_similarity), directed both ways and sent to their source's partition,
            and the info of their nodes, sent to each node's partition."""
            _, grouped = element
            info = dict(_flat(grouped["info"]))
            edges, nodes = [], {}
            for a, info_a, b in _flat(grouped["half"]):
                info_b = info[b]
                if similarity(info_a[3], info_b[3]) >= config.min_similarity:
                    linked.inc()
                    edges += [(a, b), (b, a)]
                    nodes[a], nodes[b] = info_a, info_b
            for p, batch in scatter(edges, lambda uv: uv[0], partitions):
                yield beam.pvalue.TaggedOutput("edges", (p, batch))
            for p, batch in scatter(list(nodes.items()), lambda ni: ni[0], partitions):
                yield beam.pvalue.TaggedOutput("nodes", (p, batch))

        half = (
            {"info": infos, "pairs": pairs}
            | "JoinFirst" >> beam.CoGroupByKey()
            | "AttachFirst" >> beam.FlatMap(attach_first, partitions=partitions)
        )
        linked_pairs = (
            {"info": infos, "half": half}
            | "JoinSecond" >> beam.CoGroupByKey()
            | "Verify" >> beam.FlatMap(verify, partitions=partitions).with_outputs("edges", "nodes")
        )
        labels = _cc_partitions(linked_pairs.edges, config.cc_rounds, partitions)

        def attach_member(element, partitions):
            """(node, representative) of the node's partition → (node, its info, representative),
            sent to the representative's partition."""
            _, grouped = element
            info = dict(_flat(grouped["info"]))
            return scatter([(v, info[v], m) for v, m in _flat(grouped["labels"])], lambda vim: vim[2], partitions)

        def duplicates(element):
            _, grouped = element
            info = dict(_flat(grouped["info"]))
            for node, (url, lang, n_bytes, signature), representative in _flat(grouped["members"]):
                if node[0] == 0:  # a document of the previous build stays where it is
                    continue
                removed.inc()
                rep_url, _, _, rep_signature = info[representative]
                key = DocKey(node[3], url, lang, None, n_bytes)
                kind = "near_previous" if representative[0] == 0 else "near"
                yield key, Duplicate(key.id, url, representative[3], rep_url, kind,
                                     similarity(signature, rep_signature), lang)

        members = (
            {"info": linked_pairs.nodes, "labels": labels}
            | "JoinMember" >> beam.CoGroupByKey()
            | "AttachMember" >> beam.FlatMap(attach_member, partitions=partitions)
        )
        return (
            {"info": linked_pairs.nodes, "members": members}
            | "JoinRepresentative" >> beam.CoGroupByKey()
            | "Duplicates" >> beam.FlatMap(duplicates)
        )

"""A finished build's shards, read through its manifest.json: checks and rows. No Beam here, so the
training stage (loader, evaluation) works where only torch, pyarrow and sentencepiece are installed."""

from __future__ import annotations

import pyarrow.parquet as pq

from transforms import fs


def manifest_rows(build_dir: str, manifest: dict, kind: str, columns: list[str], where: tuple[str, str] | None = None,
                  verify=None):
    """Rows (dicts of `columns`, those the shard has) of a build's `kind` shards in path order, a
    row group at a time; `where` = (partition name, value), e.g. ("lang", "de"), keeps one partition.
    `verify(path, sha256)`, when given, is called before a shard is opened (and raises if it is bad)."""
    shards = [s for s in manifest["shards"] if s["kind"] == kind and s["rows"] and (where is None or s.get(where[0]) == where[1])]
    for shard in sorted(shards, key=lambda s: s["path"]):
        if verify is not None:
            verify(fs.join(build_dir, shard["path"]), shard["sha256"])
        with fs.open_read(fs.join(build_dir, shard["path"])) as raw, pq.ParquetFile(raw) as f:
            names = set(f.schema_arrow.names)
            for group in range(f.num_row_groups):
                yield from f.read_row_group(group, columns=[c for c in columns if c in names]).to_pylist()


def missing_shard(path: str, remedy: str = "restore it or rebuild the corpus") -> str | None:
    """None when the file at `path` exists; otherwise one line naming it."""
    return None if fs.exists(path) else f"shard {path} listed in manifest.json is missing; {remedy}"


def shard_problem(path: str, sha256: str, remedy: str = "restore it or rebuild the corpus") -> str | None:
    """None when the file at `path` has the sha256 its manifest lists; otherwise one line naming it."""
    missing = missing_shard(path, remedy)
    if missing:
        return missing
    if fs.sha256(path) != sha256:
        return f"shard {path} does not match its sha256 in manifest.json (corrupt or changed); {remedy}"
    return None

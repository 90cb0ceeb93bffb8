"""A Beam FileSystem for the scheme `fakefs://` that behaves like an object store, kept in a local
directory ($POLYCORP_FAKEFS_ROOT), so tests can run builds against "remote" storage.

Like GCS or S3 it has no directories (a prefix exists only through the files under it, `mkdirs`
does nothing, listing is by prefix) and rename is copy + delete. Code that bypasses Beam's
FileSystems (os.path, open) gets a path like `fakefs://bucket/x`, which names nothing on disk, so
a test sees it fail or write in the wrong place. Loaded with `--beam_plugins tests.fakefs` (polycorp
imports plugins in the launcher too)."""

from __future__ import annotations

import os

from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem
from apache_beam.io.localfilesystem import LocalFileSystem

SCHEME = "fakefs"
PREFIX = SCHEME + "://"


def root() -> str:
    value = os.environ.get("POLYCORP_FAKEFS_ROOT")
    if not value:
        raise BeamIOError("POLYCORP_FAKEFS_ROOT is not set: the fakefs:// test filesystem has no storage")
    return value


def local(path: str) -> str:
    if not path.startswith(PREFIX):
        raise ValueError(f"not a {PREFIX} path: {path}")
    return os.path.join(root(), path[len(PREFIX):])


def remote(path: str) -> str:
    return PREFIX + os.path.relpath(path, root())


class FakeObjectStore(FileSystem):
    def __init__(self, pipeline_options=None):
        super().__init__(pipeline_options)
        self._local = LocalFileSystem(pipeline_options)

    @classmethod
    def scheme(cls):
        return SCHEME

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/")] + [p.strip("/") for p in paths])

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        base = local(dir_or_prefix)
        top = base if os.path.isdir(base) else os.path.dirname(base)
        for dirpath, _, files in os.walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                if path.startswith(base):
                    yield FileMetadata(remote(path), os.path.getsize(path), os.path.getmtime(path))

    def create(self, path, mime_type="application/octet-stream", compression_type=None, **kwargs):
        kwargs = {"compression_type": compression_type} if compression_type else {}
        return self._local.create(local(path), mime_type, **kwargs)

    def open(self, path, mime_type="application/octet-stream", compression_type=None, **kwargs):
        if not os.path.isfile(local(path)):
            raise BeamIOError("Open failed", {path: FileNotFoundError(path)})
        kwargs = {"compression_type": compression_type} if compression_type else {}
        return self._local.open(local(path), mime_type, **kwargs)

    def copy(self, source_file_names, destination_file_names):
        self._local.copy([local(p) for p in source_file_names], [local(p) for p in destination_file_names])

    def rename(self, source_file_names, destination_file_names):
        self.copy(source_file_names, destination_file_names)
        self.delete(source_file_names)

    def exists(self, path):
        return os.path.isfile(local(path))  # a prefix is no object

    def size(self, path):
        return self._local.size(local(path))

    def last_updated(self, path):
        return self._local.last_updated(local(path))

    def checksum(self, path):
        return self._local.checksum(local(path))

    def metadata(self, path):
        meta = self._local.metadata(local(path))
        return FileMetadata(path, meta.size_in_bytes, meta.last_updated_in_seconds)

    def delete(self, paths):
        for path in paths:
            if not os.path.isfile(local(path)):
                raise BeamIOError("Delete failed", {path: FileNotFoundError(path)})
        self._local.delete([local(p) for p in paths])

    def report_lineage(self, path, unused_lineage):
        pass

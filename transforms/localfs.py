"""Local files through the few calls of Beam's `FileSystems` that `transforms.fs` makes: what `fs`
uses when apache_beam is not installed — a training machine with torch but no Beam (a GPU image)
trains, tokenizes and evaluates builds on its local disk. A URL there is a one-line `StorageError`
(through `fs`) asking for apache-beam. `match` takes globs only (a directory named without one
matches nothing), and hidden files match only a pattern that names the dot."""

from __future__ import annotations

import glob
import os
import re
import shutil
from types import SimpleNamespace


class BeamIOError(OSError):
    """What `fs` turns into a one-line StorageError, with or without Beam."""

    def __init__(self, message: str, exception_details: dict | None = None):
        super().__init__(message)
        self.exception_details = exception_details or {}


class CompressionTypes:
    UNCOMPRESSED = "uncompressed"


_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][-a-zA-Z0-9+.]*)://")  # Beam's test for a URL


def _local(path: str) -> str:
    if FileSystems.get_scheme(path) is not None:
        raise ValueError(f"no filesystem for {path}: apache-beam is not installed")
    return path


class FileSystems:
    @staticmethod
    def get_scheme(path: str) -> str | None:
        found = _SCHEME.match(path)
        return found.group("scheme") if found else None

    @staticmethod
    def join(base: str, *parts: str) -> str:
        return os.path.join(_local(base), *parts)

    @staticmethod
    def split(path: str) -> tuple[str, str]:
        return os.path.split(_local(path))

    @staticmethod
    def exists(path: str) -> bool:
        return os.path.exists(_local(path))

    @staticmethod
    def match(patterns: list[str]) -> list[SimpleNamespace]:
        return [SimpleNamespace(metadata_list=[SimpleNamespace(path=p) for p in sorted(glob.glob(_local(pattern), recursive=True))
                                               if os.path.isfile(p)])
                for pattern in patterns]

    @staticmethod
    def open(path: str, compression_type: str = CompressionTypes.UNCOMPRESSED):
        return open(_local(path), "rb")

    @staticmethod
    def create(path: str, compression_type: str = CompressionTypes.UNCOMPRESSED):
        os.makedirs(os.path.dirname(os.path.abspath(_local(path))), exist_ok=True)
        return open(path, "wb")

    @staticmethod
    def get_filesystem(path: str) -> SimpleNamespace:
        _local(path)
        return SimpleNamespace(metadata=lambda p: SimpleNamespace(size_in_bytes=_size(p)))

    @staticmethod
    def delete(paths: list[str]) -> None:
        for path in map(_local, paths):
            try:
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
            except OSError as e:
                raise BeamIOError(f"delete {path} failed", {path: e}) from None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError as e:
        raise BeamIOError(f"metadata of {path} failed", {path: e}) from None

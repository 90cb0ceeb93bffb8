"""Files anywhere Beam reaches: local paths, gs://, s3://, or a scheme a FileSystem plugin adds.

Everything polycorp reads or writes outside a pipeline's workers goes through these helpers, which
call Beam's `FileSystems` (workers call it directly). What differs between local disks and object
stores, and how it is handled:

- **Atomic files.** Locally a file is written under a temporary name and renamed. An object store
  has no rename (Beam copies and deletes) but makes an object visible only once its upload is
  closed, so there a file is written straight to its name; an upload cut short by an error is
  closed too and may leave a partial object, which is why every output directory is only valid
  once its manifest.json (written last) is there, and failed jobs delete what they wrote.
- **Directories.** Object stores have none: a "directory" is a prefix, it exists once a file under
  it does, and it is listed by matching `prefix/**`.
- **Custom schemes and options.** Beam finds a FileSystem by importing its class; `configure`
  imports the `--beam_plugins` a user names in this process too (Beam itself does it only on
  workers) and hands the Beam options to FileSystems (S3 needs them before any pipeline exists).
- **Errors.** A scheme nobody serves, a missing cloud extra or a refused request becomes a
  one-line `StorageError`.
- **Without Beam** (a training machine may have torch but not apache_beam) the same helpers work
  on local paths (`transforms.localfs`); a URL is then a one-line `StorageError`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import shutil
import uuid

try:
    from apache_beam.io.filesystem import BeamIOError, CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    HAVE_BEAM = True
except ImportError:  # training without Beam (a GPU image): local paths only
    from transforms.localfs import BeamIOError, CompressionTypes, FileSystems

    HAVE_BEAM = False


class StorageError(Exception):
    """A path that cannot be reached; the message is one line saying what to do."""


def _reached(call):
    """Run `call(path, ...)`, turning Beam's storage failures into a one-line StorageError."""
    @functools.wraps(call)
    def wrapped(path, *args, **kwargs):
        try:
            return call(path, *args, **kwargs)
        except BeamIOError as e:
            causes = "; ".join(f"{type(c).__name__}: {c}" for c in (getattr(e, "exception_details", None) or {}).values())
            raise StorageError(f"cannot reach {path}: {causes or e}".replace("\n", " ")) from None
        except ValueError as e:
            if "filesystem" not in str(e).lower():
                raise
            if not HAVE_BEAM:
                raise StorageError(f"no file system for {path}: apache-beam is not installed here, so only local "
                                   "paths work") from None
            raise StorageError(f"no file system for {path}: install its apache-beam extra ([gcp], [aws]) or "
                               "name its plugin with --beam_plugins") from None
    return wrapped


def is_local(path: str) -> bool:
    return FileSystems.get_scheme(str(path)) is None


def absolute(path: str) -> str:
    """A local path made absolute; a URL as it is (without a trailing slash)."""
    path = str(path)
    return os.path.abspath(path) if is_local(path) else path.rstrip("/")


@_reached
def join(base: str, *parts: str) -> str:
    return FileSystems.join(str(base), *parts)


@_reached
def exists(path: str) -> bool:
    return FileSystems.exists(str(path))


@_reached
def match(pattern: str) -> list[str]:
    """The files a path or glob names, sorted."""
    return sorted(m.path for m in FileSystems.match([str(pattern)])[0].metadata_list)


@_reached
def open_read(path: str):
    """A binary, seekable file object (what pyarrow's ParquetFile and read_table take). A local
    file is opened by Arrow itself: Arrow's I/O threads reading a Python file object call back into
    Python, and when that is still going on as the interpreter exits the process aborts
    ("terminate called without an active exception")."""
    if is_local(path):
        import pyarrow as pa

        return pa.OSFile(str(path), "r")
    return FileSystems.open(str(path), compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


def read_json(path: str):
    return json.loads(read_bytes(path))


def sha256(path: str) -> str:
    """Hex sha256 of a file's bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with open_read(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_bytes(path: str, data: bytes) -> None:
    """`path` afterwards either holds `data` whole or is as it was (see the module docstring)."""
    path = str(path)
    if is_local(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    with create(path) as f:
        f.write(data)


@_reached
def create(path: str):
    """A binary file to write `path` through (on an object store, visible once closed)."""
    return FileSystems.create(str(path), compression_type=CompressionTypes.UNCOMPRESSED)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


@_reached
def list_files(prefix: str) -> list[str]:
    """Every file under the directory or prefix `prefix`, sorted; [] when there is none. Local
    paths come back absolute; "folder" placeholder objects (names ending in /) are not files."""
    prefix = absolute(prefix)
    if is_local(prefix):
        if not os.path.isdir(prefix):
            return []
        return sorted(os.path.join(root, name) for root, _, names in os.walk(prefix) for name in names)
    return sorted(m.path for m in FileSystems.match([prefix + "/**"])[0].metadata_list if not m.path.endswith("/"))


def files_in(folder: str, suffixes: tuple[str, ...] = ("",)) -> list[str]:
    """Files directly in `folder` (not in its subfolders) whose names end with one of `suffixes`
    and do not start with "." (temporary files), sorted."""
    folder, out = absolute(folder), []
    for path in list_files(folder):
        parent, name = FileSystems.split(path)
        if parent.rstrip("/") == folder and name.endswith(suffixes) and not name.startswith("."):
            out.append(path)
    return out


@_reached
def size(path: str) -> int:
    return FileSystems.get_filesystem(str(path)).metadata(str(path)).size_in_bytes


def work_dir_for(out_dir: str) -> str:
    """Where a job writes an output directory before it is whole: a hidden directory beside a local
    `out_dir`, which `move_into_place` renames; on an object store, `out_dir` itself (written in
    place, its manifest last)."""
    if not is_local(out_dir):
        return out_dir
    parent, name = os.path.split(os.path.abspath(out_dir))
    return os.path.join(parent, f".{name}.tmp-{uuid.uuid4().hex[:8]}")


def check_output(out_dir: str, overwrite: bool, error: type[Exception], kind: str = "build",
                 format_prefix: str = "polycorp/") -> bool:
    """Whether `out_dir` (absolute) already holds files a job would replace. Raises `error` with a
    one-line message when the job cannot write there: it holds files and `overwrite` is not set,
    or (locally) it is not a directory, or its parent cannot be created or is not writable. With
    `overwrite`, only an output of the job's own `kind` is replaced — its manifest.json's format
    starts with `format_prefix` — never another kind (a build is not replaced by token shards)
    nor, locally, a directory of other files; on an object store an output written in place
    and never finished (no manifest.json) may be replaced too."""
    if is_local(out_dir):
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise error(f"output {out_dir} exists and is not a directory")
        parent = os.path.dirname(out_dir)
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as e:
            raise error(f"cannot create output directory {parent}: {e.strerror}") from None
        if not os.access(parent, os.W_OK):
            raise error(f"output directory {parent} is not writable")
        replaces = os.path.isdir(out_dir) and bool(os.listdir(out_dir))
    else:
        replaces = bool(list_files(out_dir))
    if replaces and not overwrite:
        raise error(f"output {out_dir} exists and is not empty; pass --overwrite to replace it")
    if replaces:
        manifest = join(out_dir, "manifest.json")
        found = read_json(manifest).get("format") if exists(manifest) else None
        if found is not None and not str(found).startswith(format_prefix):
            raise error(f"output {out_dir} holds a {found} output, not a {kind}; --overwrite replaces only a {kind}: "
                        "choose another --out")
        if found is None and is_local(out_dir):
            raise error(f"output {out_dir} holds files but no {kind} (no manifest.json); --overwrite replaces only "
                        f"a {kind}: choose another --out or empty it yourself")
    return replaces


def begin_output(work_dir: str, out_dir: str, replaces: bool) -> None:
    """Before a job writes: locally, create its work directory; written in place (an object
    store), first delete what `out_dir` holds when it is to be replaced — its manifest.json first,
    so from the first byte written on it no longer looks like a finished output."""
    if work_dir == out_dir:
        if replaces:
            delete(join(out_dir, "manifest.json"))
            delete_tree(out_dir)
    elif is_local(work_dir):
        os.makedirs(work_dir)


def move_into_place(work_dir: str, out_dir: str) -> None:
    """Rename a finished local `work_dir` to `out_dir`; an existing `out_dir` is replaced only now,
    once the new one is whole. Nothing to do for an output written in place."""
    if work_dir == out_dir:
        return
    if os.path.exists(out_dir):
        old = work_dir + ".old"
        os.replace(out_dir, old)
        os.replace(work_dir, out_dir)
        delete_tree(old)
    else:
        os.replace(work_dir, out_dir)


def delete_tree(prefix: str) -> None:
    """Remove the directory or prefix `prefix` and everything under it; nothing if it is absent."""
    prefix = str(prefix).rstrip("/")
    if is_local(prefix):
        shutil.rmtree(prefix, ignore_errors=True)
        return
    files = list_files(prefix)
    if files:
        FileSystems.delete(files)


@_reached
def delete(path: str) -> None:
    if exists(path):
        FileSystems.delete([str(path)])


_PLUGINS_ENV = "POLYCORP_BEAM_PLUGINS"
_PLUGINS_FLAG = "--beam_plugins"


def configure(beam_args: list[str]) -> list[str]:
    """Before any file is touched: import the classes `--beam_plugins a.b.C[,d.e.F]` (or repeated)
    names, so a FileSystem they register serves its scheme here as well as on workers (an
    unimportable one is an ImportError), and give FileSystems the Beam options (credentials,
    regions: S3 needs them). Returns `beam_args` without the plugin flags, for commands that take
    no other Beam option.

    Beam imports plugins on the workers of Dataflow, Flink or Spark; the local runner's worker
    processes (`--direct_running_mode=multi_processing`) do not, so they are also named in the
    environment those processes inherit, and `transforms` imports them there when loaded."""
    try:
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError:
        if beam_args:
            raise StorageError(f"{' '.join(beam_args)}: Beam options and plugins need apache-beam, which is not "
                               "installed here") from None
        return []

    names: list[str] = []
    rest: list[str] = []
    skip = False
    for i, arg in enumerate(beam_args):
        if skip:
            skip = False
        elif arg == _PLUGINS_FLAG and i + 1 < len(beam_args):
            names += beam_args[i + 1].split(",")
            skip = True
        elif arg.startswith(_PLUGINS_FLAG + "="):
            names += arg.split("=", 1)[1].split(",")
        else:
            rest.append(arg)
    names = [n for n in (n.strip() for n in names) if n]
    for name in names:
        _import(name)
    if names:
        os.environ[_PLUGINS_ENV] = ",".join(names)
    FileSystems.set_options(PipelineOptions(beam_args))
    return rest


def _import(name: str) -> None:
    try:
        importlib.import_module(name)
    except ImportError:
        module, _, attr = name.rpartition(".")
        try:
            getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as e:
            raise ImportError(f"--beam_plugins {name} cannot be imported ({e}); install the package "
                              "that provides it or fix the name") from None


def import_inherited_plugins() -> None:
    """In a local worker process: the plugins its launcher named (see `configure`)."""
    for name in filter(None, os.environ.get(_PLUGINS_ENV, "").split(",")):
        _import(name)

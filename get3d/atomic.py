"""All-or-nothing writing of files: one mechanism for every writer of the ``get3d`` package
(exports, checkpoints, reports, caches, reconstructions).

A group of files (an OBJ with its MTL and PNG, a GLB, a checkpoint) is written together.

Every file of the group is first written to a hidden temporary file in its destination folder;
only when all of them are complete are they moved into place with :func:`os.replace` (atomic per
file on POSIX and Windows). If anything fails before that, the temporary files are deleted and the
destination is untouched, so a failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_files"]


@contextmanager
def atomic_files(paths: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield one temporary path per destination; move them all into place on success.

    Args:
        paths: destination files (their folders are created). Duplicates are an error.

    Yields:
        temporary paths in the same folders, in the order of ``paths``; the caller writes each one
        completely. On an exception inside the block all of them are removed and the exception
        propagates; on success each is renamed onto its destination.
    """
    dests = [Path(os.fspath(p)) for p in paths]
    if len({d.resolve() for d in dests}) != len(dests):
        raise ValueError(f"paths: expected distinct destinations, got {[str(d) for d in dests]}")
    temps: list[Path] = []
    try:
        for dest in dests:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
            os.close(fd)
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; exported files are meant to be shared
            temps.append(Path(tmp))
        yield list(temps)
        # Files referenced by others (textures, MTL) first, the file a user opens (listed first) last.
        for tmp, dest in reversed(list(zip(temps, dests, strict=True))):
            os.replace(tmp, dest)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise

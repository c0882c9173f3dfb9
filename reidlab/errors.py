"""Errors that users see. Each names the offending path and what was expected."""

from __future__ import annotations

from pathlib import Path


class ReidlabError(Exception):
    """Base class of every error reidlab raises on purpose."""


class PathError(ReidlabError):
    """Something at ``path`` is not what was expected.

    ``PathError(path, expected, found=None)`` renders as
    ``<path>: expected <expected>[, found <found>]``.
    """

    def __init__(self, path: str | Path, expected: str, found: str | None = None):
        self.path = Path(path)
        self.expected = expected
        self.found = found
        msg = f"{self.path}: expected {expected}"
        if found is not None:
            msg += f", found {found}"
        super().__init__(msg)


class DatasetError(PathError):
    """A dataset on disk is missing, malformed or disagrees with itself."""


class CorruptFrameError(DatasetError):
    """A frame file exists but cannot be decoded as an image."""


class ConfigError(ReidlabError):
    """A configuration value is invalid (names the option and the allowed values)."""


class RunStoreError(PathError):
    """A run folder or one of its files is unusable: a run path outside the runs folder, a
    damaged (e.g. truncated) checkpoint, a config from an incompatible version, an unwritable
    folder."""


class DiskFullError(RunStoreError):
    """The disk filled up (ENOSPC / EDQUOT) while a file was written; the previous version of
    the file is intact (writes are atomic) and the partial temp file was removed."""

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = Path(path)
        self.expected = "room on the disk to write it"
        self.found = "the disk full"
        msg = (f"{self.path}: disk full (no space left on the device) while writing it; "
               "the previous version of the file is intact and the partial temp file was "
               "removed")
        if detail:
            msg += f"; {detail}"
        Exception.__init__(self, msg)

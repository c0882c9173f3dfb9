"""Errors that users see. Each names the offending path and what was expected."""

from __future__ import annotations

from pathlib import Path


class ReidlabError(Exception):
    """Base class of every error reidlab raises on purpose."""


class DatasetError(ReidlabError):
    """A dataset on disk is missing, malformed or disagrees with itself.

    ``DatasetError(path, expected, found=None)`` renders as
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


class CorruptFrameError(DatasetError):
    """A frame file exists but cannot be decoded as an image."""


class ConfigError(ReidlabError):
    """A configuration value is invalid (names the option and the allowed values)."""

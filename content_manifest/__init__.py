"""The film library: YAML manifests, validation, probing, scanning and sample films.

See docs/manifest.md for the format and docs/architecture.md for how the player and the console use it.
"""

from .loader import LibraryUnavailable, check_manifest, load_library, open_library
from .model import Area, Audience, Chapter, ContentWarning, Film, Library, ManifestError, MediaInfo, Problem
from .timecode import format_time, parse_time

__all__ = [
    "Area",
    "Audience",
    "Chapter",
    "ContentWarning",
    "Film",
    "Library",
    "LibraryUnavailable",
    "ManifestError",
    "MediaInfo",
    "Problem",
    "check_manifest",
    "format_time",
    "load_library",
    "open_library",
    "parse_time",
]

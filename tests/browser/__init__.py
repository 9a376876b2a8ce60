"""Helpers for tests and benches that drive the console in Debian's Chromium (never a downloaded browser)."""

"""Subtitles: the language chosen per session, a font fall-back chain for every script, right-to-left lines
in reading order, Arabic shaped, character references decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import features

from content_manifest import Film, Library
from player.control import Controller
from player.render.text import _pieces, font_for, line_width, text_panel


def _film(subtitles: dict[str, str]) -> Film:
    return Film(id="f", title="F", folder=Path("/films"), file="f.mp4", sha256="0" * 64,
                projection="equirect360", subtitle_files=subtitles)  # fmt: skip


@pytest.mark.parametrize(
    ("choice", "tracks", "shown"),
    [
        ("auto", {"fr": "f.fr.vtt"}, "fr"),  # a film with only French subtitles shows them
        ("en", {"fr": "f.fr.vtt"}, None),
        ("fr", {"en": "f.en.vtt", "fr": "f.fr.vtt"}, "fr"),
        ("pt", {"en": "f.en.vtt", "pt-BR": "f.pt.vtt"}, "pt-BR"),
        ("off", {"en": "f.en.vtt"}, None),
        (None, {"en": "f.en.vtt"}, None),
        ("auto", {}, None),
    ],
)
def test_subtitle_language_is_chosen(choice, tracks, shown):
    film = _film(tracks)
    c = Controller(Library(Path("/films/m.yaml"), 1, {"f": film}), subtitle_language=choice)
    try:
        assert c.subtitle_track(film) == shown
    finally:
        c.close()


def test_subtitles_option_on_the_command_line(capsys):
    from player.cli import build_parser

    args = build_parser().parse_args(["play", "--manifest", "m.yaml", "--film", "f", "--subtitles", "cy"])
    assert args.subtitles == "cy"
    assert build_parser().parse_args(["play", "--manifest", "m.yaml", "--film", "f"]).subtitles == "auto"
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["play", "--manifest", "m.yaml", "--film", "f", "--subtitles", "english!"])
    assert exc.value.code == 2
    assert "'english!': expected a language tag such as en or pt-BR, auto or off" in capsys.readouterr().err


@pytest.mark.parametrize(("script", "sample"), [("cjk", "中文"), ("arabic", "مرحبا"), ("hebrew", "שלום")])
def test_every_script_has_a_font_of_its_own(script, sample):
    face = font_for(script, 40)
    assert face is not font_for("latin", 40), f"no {script} font: run scripts/system-deps.sh"
    a, b = (np.asarray(face.getmask(ch)) for ch in sample[:2])
    assert a.shape != b.shape or (a != b).any(), "two different letters drawn alike: empty boxes"


def test_chinese_is_drawn_not_boxed():
    one, other = text_panel("中"), text_panel("文")
    assert one.shape == other.shape and (one != other).any()


def test_right_to_left_lines_read_right_to_left():
    pieces, rtl = _pieces("שלום עולם, hello", 40)
    assert rtl and [p[1] for p in pieces] == ["שלום", " ", "עולם", " ,", "hello"]  # placed right to left
    assert [p[1] for p in _pieces("בשנת 2020.", 40)[0]] == ["בשנת", ".2020 "]
    assert not _pieces("Hello, world", 40)[1]


@pytest.mark.skipif(not features.check("raqm"), reason="Pillow without libraqm cannot shape Arabic")
def test_arabic_letters_join():
    assert line_width("بببب", 40) < 3.5 * line_width("ب", 40)  # joined forms are narrower than isolated


def test_subtitles_command_changes_the_language_of_the_film_on_screen(sample_library):
    from player.control import CommandError

    c = Controller(sample_library, engine_options={"audio": "null", "hwdec": "none"})
    try:
        c.load("calibration-mono")
        assert c.dispatch("subtitles", {"language": "off"}) == {
            "subtitles": "off", "showing": None, "available": ["en"]
        }  # fmt: skip
        assert c._cues is None
        assert c.dispatch("subtitles", {"language": "fr"})["showing"] is None
        assert c.dispatch("subtitles", {"language": "auto"})["showing"] == "en" and c._cues is not None
        with pytest.raises(CommandError) as bad:
            c.dispatch("subtitles", {"language": "english!"})
        assert bad.value.code == "bad_args" and "args.language" in bad.value.message
    finally:
        c.close()

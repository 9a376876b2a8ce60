"""The fast YAML reader agrees with PyYAML (values, tags and positions) or steps aside."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from content_manifest.nodes import Unsupported, compose, fast_compose
from content_manifest.sample import manifest_text


def agree(text: str) -> bool:
    """True when the fast reader read ``text``; asserts it read it exactly as PyYAML does."""
    try:
        fast = fast_compose(text)
    except Unsupported:
        return False
    assert fast == compose(text)
    return True


def test_sample_manifest_is_read_fast_and_identically():
    assert agree(
        manifest_text(
            {f: "ab" * 32 for f in ("calibration-mono.mp4", "calibration-tb.mp4", "calibration-foa.mp4")},
            dict.fromkeys(("calibration-mono.mp4", "calibration-tb.mp4", "calibration-foa.mp4"), 1000),
        )
    )


def test_test_manifest_and_bench_manifest_are_read_fast():
    from tests.test_manifest_errors import SHA, VALID

    assert agree(VALID.format(sha=SHA))
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench", Path(__file__).parent.parent / "bench/manifest_load.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    text = "manifest_version: 1\nfilms:\n" + "".join(
        bench.FILM.format(i=i, sha="0" * 64, stereo="mono", heading=i, sec=i, height=1920) for i in range(3)
    )
    assert agree(text)


AGREE = [
    "a: 1\nb: 0x1F\nc: 1_000\nd: 01:30\ne: 1.5\nf: .inf\ng: yes\nh: ~\ni: null\nj: 2024-01-01\n",
    "a: 'it''s'\nb: \"x: y\"\nc: [1, 'a,b', \"c\", d e, '00:20']\nd: []\ne: {}\n",
    "films:\n- id: x\n  t: y # comment\n- id: z\n# comment\n  u: http://example.com/#frag\n",
    "a:\n  - b\n  -   c\n  - d: 1\n    e: 2\n  -\n    f: 3\nz: -5\ny: -x\nw: a#b\n",
    "k: [a, b] # c\nl: x  \nm: 'q'  # r\n",
    "a: b\r\nc: d\r\n",
    "no: 1\n1: a\ntrue: x\nnull: y\n",
    # blocks closed by indentation: a list at its key's own indentation, nested items, comments between
    "a:\n- x\n- y\nb: 1\n",
    "- a: 1\n  b:\n  - c\n  - d: [e]\n    f: {}\n- g\n-\n  - h\n",
    "a: 1\n\n# c\nb:\n  # c\n\n  c: 2\n  d:\n    e: 3\nf: 4\n",
]

BAIL = [
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "---\na: 1\n",
    "a: 'multi\n  line'\n",
    'a: "esc\\n"\n',
    "a: plain\n  continued\n",
    "a: {b: 1}\n",
    "a: [1, [2]]\n",
    "a:\tb\n",
    "a: b: c\n",
    "a: b\n c: d\n",
    "a:\nb: 1\n",
    "- - a\n",
    "? a\n: b\n",
    "a: b\n---\nc: d\n",
    "\ufeffa: 1\n",
    "a: [0, ?x]\n",
    "a: [f}x, y]\n",
    "a: [:0]\n",
    "a:\n    b: 1\n  c: 2\n",  # back to an indentation no block has
    "a: 1\nb:\n",  # an empty value at the end
    "- a: 1\n - b\n",
    "a:\n- x\n  - y\n",  # "x - y" over two lines
    "a: b\x01\n",  # a control character in ASCII text
    "a:\n  - b\n  c: 1\n",
]


def test_known_documents():
    for text in AGREE:
        assert agree(text), text
    for text in BAIL:
        try:
            fast_compose(text)
        except Unsupported:
            continue
        raise AssertionError(f"the fast reader should leave {text!r} to PyYAML")


scalars = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["00:20.000", "1:30", "yes", "~", "- x", "a: b", "#", "x #y", "'q'", "[a]", "0x1F", "1_0"]
    ),
)
keys = st.from_regex(r"[a-z_][a-z0-9_.-]{0,8}", fullmatch=True)
documents = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda inner: st.one_of(
        st.lists(st.one_of(inner, scalars), min_size=1, max_size=4),
        st.dictionaries(
            keys, st.one_of(inner, scalars, st.lists(scalars, max_size=3)), min_size=1, max_size=4
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(documents, st.booleans(), st.integers(1, 4))
def test_fast_reader_matches_pyyaml_on_generated_documents(doc, flow, indent):
    text = yaml.safe_dump(
        doc,
        default_flow_style=None if flow else False,
        allow_unicode=True,
        indent=max(indent, 2),
        sort_keys=False,
    )
    agree(text)


MUTATIONS = [*" :-#'\"[]{},\n\tabc01.&*!|>?%@`~\\", " #", ": ", "- ", "\n  ", "\r\n", "\u00e9", "\x85"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from("ids"), st.sampled_from(MUTATIONS)),
        min_size=1,
        max_size=3,
    )
)
def test_fast_reader_on_damaged_manifests_agrees_or_steps_aside(edits):
    from tests.test_manifest_errors import SHA, VALID

    text = VALID.format(sha=SHA)
    for where, op, ch in edits:
        pos = int(where * len(text))
        text = {
            "i": text[:pos] + ch + text[pos:],
            "d": text[:pos] + text[pos + 1 :],
            "s": text[:pos] + ch + text[pos + 1 :],
        }[op]
    try:
        fast = fast_compose(text)
    except Unsupported:
        return
    assert fast == compose(text)  # and PyYAML must not find an error the fast reader missed


def test_library_read_fast_equals_library_read_by_pyyaml(tmp_path, monkeypatch):
    """The whole fast path (one-pass reader, positions on demand) gives the library the PyYAML path gives."""
    from content_manifest import load_library, loader
    from tests.test_manifest_errors import SHA, VALID

    bench = _bench_module()
    texts = [
        VALID.format(sha=SHA),
        "manifest_version: 1\nfilms:\n"
        + "".join(
            bench.FILM.format(i=i, sha="ab" * 32, stereo="mono", heading=i, sec=i, height=1920)
            for i in range(3)
        ),
    ]
    for n, text in enumerate(texts):
        path = tmp_path / f"m{n}.yaml"
        path.write_text(text, encoding="utf-8")
        fast = load_library(path, check_files=False)
        with monkeypatch.context() as m:
            m.setattr(loader, "read_checked", lambda text, root: None)
            m.setattr(loader, "fast_compose", _refuse)
            slow = load_library(path, check_files=False)
        assert fast.films == slow.films
        assert dict(fast.positions) == slow.positions
        assert (fast.title, fast.manifest_version) == (slow.title, slow.manifest_version)


def _refuse(text: str):
    raise Unsupported("read by PyYAML for the comparison")


def _bench_module():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench", Path(__file__).parent.parent / "bench/manifest_load.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench

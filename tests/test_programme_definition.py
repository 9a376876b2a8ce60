"""programme.yaml: every problem as FILE:LINE:COL; the example programme; the JSON Schema in
docs/evaluation.md; SSQ scoring and the t quantile against published values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from facilitator.programme.definition import EXAMPLE, ProgrammeError, json_schema, load_programme
from facilitator.programme.instruments import KINDS, SSQ_SYMPTOMS, ssq, ssq_scores
from facilitator.programme.stats import t_quantile
from facilitator.programme.tables import CATALOGUE_TABLES, TABLES

ROOT = Path(__file__).resolve().parent.parent


def problems(tmp_path: Path, text: str | bytes) -> list[str]:
    path = tmp_path / "programme.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError) as exc:
        load_programme(path)
    return [str(p).replace(str(path), "P") for p in exc.value.problems]


HEAD = "programme_version: 1\ninstruments:\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - id: a\n    when: [pre]\n    items:\n      - id: q\n        text: T\n        kind: likert\n"
            "        points: 6\n        labels: [a, b]\n",
            "P:9:17: instruments[0].items[0].points: 6 points (5 or 7)",
        ),
        (
            "  - id: a\n    when: [pre]\n    items:\n      - id: q\n        text: T\n        kind: likert\n"
            "        points: 5\n        labels: [a, b]\n",
            "P:10:17: instruments[0].items[0].labels: 2 labels for 5 points (5 labels)",
        ),
        (
            "  - id: a\n    when: [pre]\n    items:\n      - id: q\n        text: T\n        kind: choice\n",
            "P:6:9: instruments[0].items[0].options: a choice item needs options (at least two options)",
        ),
        (
            "  - id: a\n    when: [pre]\n    items:\n      - id: q\n        text: T\n        kind: yesno\n",
            "P:8:15: instruments[0].items[0].kind: unknown value 'yesno' (did you mean 'yes_no'?)",
        ),
        (
            "  - id: a\n    when: [before]\n    items:\n      - {id: q, text: T, kind: text}\n",
            "P:4:12: instruments[0].when[0]: unknown value 'before' (one of: pre, post, follow_up)",
        ),
        (
            "  - use: sss\n    when: [pre]\n",
            "P:3:10: instruments[0].use: unknown value 'sss' (did you mean 'ssq'?)",
        ),
        (
            "  - use: ssq\n    when: [pre]\n  - use: ssq\n    when: [post]\n",
            "P:5:5: instruments[1].id: duplicate instrument 'ssq' (each id once)",
        ),
        (
            "  - id: a\n    when: [pre]\n",
            "P:3:5: instruments[0]: an instrument needs items, or use: a built-in (items or use)",
        ),
        (
            "  - id: a\n    when: [pre]\n    items:\n      - {id: q, text: T, kind: yes_no}\n"
            "      - {id: q, text: U, kind: yes_no}\n",
            "P:7:9: instruments[0].items[1].id: duplicate item 'q'",
        ),
        (
            "  - id: a\n    when: [pre]\n    items:\n"
            "      - {id: q, text: T, kind: scale_0_10, agree_at: 11}\n",
            "P:6:54: instruments[0].items[0].agree_at: agree_at 11 does not fit a scale_0_10 item (0..10)",
        ),
        (
            "  - use: ssq\n    when: [pre]\nareas:\n"
            "  - {id: d, film: f, start: 5, end: 2, heading: [1], pitch: [0, 1]}\n",
            "P:5:1: areas: areas of interest belong to the films now (the film library manifest, "
            "films[].areas (docs/manifest.md))",
        ),
        (
            "  - use: ssq\n    when: [pre]\n    colour: red\n",
            "P:5:5: instruments[0].colour: unknown key 'colour'",
        ),
        ("  - use: ssq\n    when: [pre\n", "P:5:1: (document): YAML syntax error"),
    ],
)
def test_each_problem_names_file_line_and_column(tmp_path: Path, body: str, expected: str) -> None:
    found = problems(tmp_path, HEAD + body)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_at_once_and_bad_files(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + "  - id: A\n    when: []\n    items: []\n  - use: ssq\n")
    assert len(found) == 4, found  # bad id, empty when, no items, ssq without when
    assert problems(tmp_path, b"programme_version: 1\n\xff\n") == [
        "P:2:1: (document): the file is not UTF-8 text (UTF-8)"
    ]
    assert problems(tmp_path, "") == [
        "P:1:1: (document): the programme is empty (a mapping with programme_version)"
    ]
    assert problems(tmp_path, "[" * 5000)[0].startswith("P:1:1001: (document): YAML syntax error")


def test_example_programme_loads(tmp_path: Path) -> None:
    prog = load_programme(EXAMPLE)
    assert set(prog.instruments) == {"understanding", "experience", "ssq"}
    assert len(prog.instruments["ssq"].items) == 16 and prog.instruments["ssq"].when == ("pre", "post")


def test_docs_carry_the_schema_the_validator_walks() -> None:
    text = (ROOT / "docs/evaluation.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- schema -->\n```json\n(.*?)\n```", text, re.S)
    assert block is not None, "docs/evaluation.md: the JSON Schema block"
    assert json.loads(block.group(1)) == json_schema()
    assert "(../facilitator/programme/example.yaml)" in text
    for kind in KINDS:
        assert f"| `{kind}`" in text, kind
    for name, table in TABLES.items():
        if name not in CATALOGUE_TABLES:
            assert f"| `{name}` | {', '.join(table.key)} |" in text, name


def test_ssq_weighted_scores_match_the_published_maxima() -> None:
    assert [s for s, _ in SSQ_SYMPTOMS] == [i.id for i in ssq().items] and len(SSQ_SYMPTOMS) == 16
    top = ssq_scores({s: 3 for s, _ in SSQ_SYMPTOMS})
    # Kennedy et al. 1993: maxima N 200.34, O 159.18, D 292.32, total 235.62
    assert top == pytest.approx(
        {"nausea": 200.34, "oculomotor": 159.18, "disorientation": 292.32, "total": 235.62}
    )
    assert ssq_scores({"nausea": 1}) is None


@pytest.mark.parametrize(
    ("df", "t"),
    [(1, 12.706204736), (5, 2.570581837), (9, 2.262157163), (30, 2.042272456), (120, 1.979930405)],
)
def test_t_quantile_matches_tables(df: int, t: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(t, abs=1e-8)
    assert t_quantile(0.025, df) == pytest.approx(-t, abs=1e-8)

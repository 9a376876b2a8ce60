"""Questionnaire instruments: item kinds, how an answer is read and when it counts as agreement, and the
built-in Simulator Sickness Questionnaire (Kennedy et al. 1993) with its standard weighted scoring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PHASES = ("pre", "post", "follow_up")
KINDS = ("likert", "yes_no", "scale_0_10", "choice", "text")
NUMERIC_KINDS = ("likert", "yes_no", "scale_0_10")  # paired pre/post change and "% agree"


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    kind: str
    points: int | None = None  # likert: 5 or 7
    labels: tuple[str, ...] = ()  # likert: one per point; choice: the options
    agree_at: float | None = None  # the lowest value that counts as agreement (None: the kind's default)

    @property
    def agree_threshold(self) -> float | None:
        """Values at or above this agree: likert the top two points of 5 (top three of 7), yes, 7 of 0-10."""
        if self.agree_at is not None:
            return self.agree_at
        if self.kind == "likert":
            return 4.0 if self.points == 5 else 5.0
        if self.kind == "yes_no":
            return 1.0
        if self.kind == "scale_0_10":
            return 7.0
        return None

    def read(self, value: Any) -> tuple[float | None, str | None]:
        """(number, text) of an answer, or ValueError saying what this item takes."""
        if self.kind == "likert":
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= (self.points or 5):
                return float(value), None
            raise ValueError(f"expected a whole number 1..{self.points}")
        if self.kind == "scale_0_10":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10:
                return float(value), None
            raise ValueError("expected a whole number 0..10")
        if self.kind == "yes_no":
            if isinstance(value, bool):
                return (1.0 if value else 0.0), None
            if isinstance(value, str) and value.lower() in ("yes", "no"):
                return (1.0 if value.lower() == "yes" else 0.0), None
            raise ValueError("expected yes or no")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.labels:
                return float(self.labels.index(value) + 1), value
            raise ValueError("expected one of: " + ", ".join(self.labels))
        if isinstance(value, str) and len(value) <= 2000:
            return None, value
        raise ValueError("expected text (at most 2000 characters)")


@dataclass(frozen=True)
class Instrument:
    id: str
    title: str
    items: tuple[Item, ...]
    when: tuple[str, ...] = ("pre", "post")
    films: tuple[str, ...] = ()  # empty: every film
    chapters: tuple[str, ...] = ()  # asked after these chapters (empty: after the film)
    builtin: str | None = None
    by_id: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id.update({i.id: i for i in self.items})


# --- the Simulator Sickness Questionnaire -------------------------------------------------------------------

SSQ_LABELS = ("None", "Slight", "Moderate", "Severe")  # rated 0..3
SSQ_SYMPTOMS = (
    ("general_discomfort", "General discomfort"),
    ("fatigue", "Fatigue"),
    ("headache", "Headache"),
    ("eye_strain", "Eye strain"),
    ("difficulty_focusing", "Difficulty focusing"),
    ("increased_salivation", "Increased salivation"),
    ("sweating", "Sweating"),
    ("nausea", "Nausea"),
    ("difficulty_concentrating", "Difficulty concentrating"),
    ("fullness_of_head", "Fullness of head"),
    ("blurred_vision", "Blurred vision"),
    ("dizziness_eyes_open", "Dizziness (eyes open)"),
    ("dizziness_eyes_closed", "Dizziness (eyes closed)"),
    ("vertigo", "Vertigo"),
    ("stomach_awareness", "Stomach awareness"),
    ("burping", "Burping"),
)
SSQ_SUBSCALES = {
    "nausea": (
        "general_discomfort",
        "increased_salivation",
        "sweating",
        "nausea",
        "difficulty_concentrating",
        "stomach_awareness",
        "burping",
    ),
    "oculomotor": (
        "general_discomfort",
        "fatigue",
        "headache",
        "eye_strain",
        "difficulty_focusing",
        "difficulty_concentrating",
        "blurred_vision",
    ),
    "disorientation": (
        "difficulty_focusing",
        "nausea",
        "fullness_of_head",
        "blurred_vision",
        "dizziness_eyes_open",
        "dizziness_eyes_closed",
        "vertigo",
    ),
}
SSQ_WEIGHTS = {"nausea": 9.54, "oculomotor": 7.58, "disorientation": 13.92, "total": 3.74}


class _SsqItem(Item):
    """An SSQ symptom rated 0..3 (none, slight, moderate, severe)."""

    def read(self, value: Any) -> tuple[float | None, str | None]:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
            return float(value), None
        raise ValueError("expected a rating 0..3 (none, slight, moderate, severe)")


def ssq(when: tuple[str, ...] = ("pre", "post"), films: tuple[str, ...] = ()) -> Instrument:
    """The built-in SSQ instrument: 16 symptoms rated 0..3 (kind ``ssq``: scored, not read as agreement)."""
    items = tuple(_SsqItem(sid, text, "ssq", points=4, labels=SSQ_LABELS) for sid, text in SSQ_SYMPTOMS)
    return Instrument("ssq", "Simulator Sickness Questionnaire", items, when, films, builtin="ssq")


def ssq_scores(ratings: dict[str, float]) -> dict[str, float] | None:
    """Weighted SSQ scores (nausea, oculomotor, disorientation, total) from all 16 ratings, else None."""
    if any(sid not in ratings for sid, _ in SSQ_SYMPTOMS):
        return None
    raw = {name: sum(ratings[i] for i in items) for name, items in SSQ_SUBSCALES.items()}
    out = {name: raw[name] * SSQ_WEIGHTS[name] for name in raw}
    out["total"] = sum(raw.values()) * SSQ_WEIGHTS["total"]
    return out


BUILTINS = {"ssq": ssq}

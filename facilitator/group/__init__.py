"""Group sessions, facilitator side: discovery, clock estimation, scheduled commands (docs/group.md)."""

from facilitator.group.clock import ClockEstimate, ClockEstimator, ClockSample
from facilitator.group.controller import GroupController, JsonlRecorder
from facilitator.group.discovery import Discovery, PlayerAddress, parse_address
from facilitator.group.member import GroupError, GroupMember
from facilitator.group.schedule import GroupTimeline, lead_time

__all__ = [
    "ClockEstimate",
    "ClockEstimator",
    "ClockSample",
    "Discovery",
    "GroupController",
    "GroupError",
    "GroupMember",
    "GroupTimeline",
    "JsonlRecorder",
    "PlayerAddress",
    "lead_time",
    "parse_address",
]

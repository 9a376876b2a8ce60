"""Viewpoint's wire contract, version 1: the one package both the player and the facilitator import.

Like the ZeroMQ Guide's ``kvmsg``, it owns the wire format, and nothing else: the envelope and codec
(:mod:`.codec`), the command catalogue (:mod:`.commands`), argument specs (:mod:`.args`), the event
catalogue (:mod:`.events`), the one state fold (:mod:`.state`), error codes (:mod:`.errors`), the participant
code rule (:mod:`.participant`), endpoint rules (:mod:`.endpoints`), keys and certificates (:mod:`.keys`),
private files (:mod:`.private`), the pose sample's bytes (:mod:`.poses`) and the command lines' value
checks (:mod:`.argtypes`). It imports nothing else from ``player`` (an import-linter contract checks this).

``from player import protocol as P`` gives the whole contract: ``P.COMMANDS``, ``P.decode_command``, ...
"""

from .args import (
    Arg,
    boolean,
    check_args,
    choice,
    consent,
    integer,
    json_object,
    label,
    number,
    participant_code,
    tags,
    text,
)
from .codec import (
    DEAD_AFTER_S,
    EVENT_FIELDS,
    HEARTBEAT_S,
    MAX_ID_CHARS,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    ROLE_LEAD,
    ROLE_OBSERVER,
    ROLES,
    TOPIC_EVENT,
    TOPIC_HEARTBEAT,
    TOPIC_POSE,
    Command,
    decode_command,
    decode_event,
    decode_reply,
    dumps,
    encode_command,
    encode_error,
    encode_ok,
    peek_id,
    peek_id_bytes,
    utc_now,
)
from .commands import (
    COMMANDS,
    CONTROLLER,
    GROUP,
    PAGE_COMMANDS,
    SESSION,
    TARGETS,
    URGENT_COMMANDS,
    WELFARE_ACTIONS,
    WELFARE_LEVELS,
    CommandSpec,
)
from .errors import *  # noqa: F403  (every E_* code, ERROR_CODES and ProtocolError)
from .errors import ERROR_CODES, ProtocolError
from .events import EVENTS, EventSpec, catalogue_json, event_label
from .participant import ParticipantCodeError, check_participant, new_participant_code
from .participant import rule_json as participant_rule_json
from .questionnaire import HEADSET_KINDS as QUESTIONNAIRE_KINDS
from .questionnaire import choices as questionnaire_choices
from .state import TRANSPORT_STATES, apply_event, initial_state, state_rules_json

__all__ = [
    "COMMANDS", "CONTROLLER", "DEAD_AFTER_S", "ERROR_CODES", "EVENTS", "EVENT_FIELDS", "GROUP",
    "HEARTBEAT_S", "MAX_ID_CHARS", "MAX_MESSAGE_BYTES", "PAGE_COMMANDS", "PROTOCOL_VERSION",
    "QUESTIONNAIRE_KINDS", "ROLES", "ROLE_LEAD", "ROLE_OBSERVER", "SESSION", "TARGETS", "TOPIC_EVENT",
    "TOPIC_HEARTBEAT", "TOPIC_POSE",
    "TRANSPORT_STATES", "URGENT_COMMANDS", "WELFARE_ACTIONS", "WELFARE_LEVELS", "Arg", "Command",
    "CommandSpec", "EventSpec", "ParticipantCodeError", "ProtocolError", "apply_event", "boolean",
    "catalogue_json", "check_args", "check_participant", "choice", "consent", "decode_command",
    "decode_event", "decode_reply", "dumps", "encode_command", "encode_error", "encode_ok", "event_label",
    "initial_state", "integer", "json_object", "label", "new_participant_code", "number", "participant_code",
    "participant_rule_json", "peek_id", "peek_id_bytes", "questionnaire_choices", "state_rules_json", "tags",
    "text", "utc_now",
]  # fmt: skip

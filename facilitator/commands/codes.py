"""``code``: participant codes by the one rule (player/protocol/participant.py): a new one, or why a typed one
is refused. With ``--library``, the programme's ``participant-codes.yaml`` beside the manifest applies."""

from __future__ import annotations

import argparse
from pathlib import Path

from player.protocol.participant import (
    ParticipantCodeError,
    check_participant,
    new_participant_code,
    rule_beside,
)

from .common import Failure


def cmd_code(args: argparse.Namespace) -> int:
    try:
        rule = rule_beside(Path(args.library)) if args.library is not None else None
    except ValueError as exc:
        raise Failure(str(exc), 2) from None
    pattern = rule[0] if rule else None
    if args.code is None:
        code = new_participant_code()
        try:
            print(check_participant(code, pattern))
        except ParticipantCodeError:
            raise Failure(f"this programme's codes are typed, like {rule[1] if rule else '?'}", 2) from None
        return 0
    try:
        check_participant(args.code, pattern)
    except ParticipantCodeError as exc:
        raise Failure(f"participant code {args.code!r}: {exc}", 2) from None
    print(f"{args.code}: a pseudonymous participant code")
    return 0

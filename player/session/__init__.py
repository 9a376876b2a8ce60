"""The player's session layer: the ZeroMQ protocol server, CURVE security and pairing, the SQLite log.

See ``docs/protocol.md``. ``SessionServer`` is the entry point; ``protocol`` is shared with the facilitator.
"""

from .protocol import PROTOCOL_VERSION, ProtocolError
from .server import SessionServer, SessionServerError

__all__ = ["PROTOCOL_VERSION", "ProtocolError", "SessionServer", "SessionServerError"]

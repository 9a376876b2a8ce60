"""The player's session layer: the ZeroMQ session server, pairing, the SQLite log and command dispatch.

See ``docs/protocol.md``. ``player.session.server.SessionServer`` is the entry point; the wire contract it
speaks is :mod:`player.protocol`, shared with the facilitator.
"""

"""The facilitator's side of Viewpoint: drive players from a laptop and keep a copy of every session.

- :mod:`facilitator.client`: the protocol client (pairing, commands, clone-pattern event stream, health);
- :mod:`facilitator.store`: the facilitator's own SQLite copy of the events, gap-filled from the players;
- :mod:`facilitator.cli`: ``viewpoint-facilitator``;
- ``console/``, ``report/``, ``group/``: the web console, session reports, group sessions.

The protocol itself is described in ``docs/protocol.md``.
"""

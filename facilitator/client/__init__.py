"""The facilitator's protocol client: one :class:`PlayerClient` per player (see ``docs/protocol.md``).

Small API, used by the CLI, the web console and group sessions::

    home = FacilitatorHome()                          # keys and known players (~/.viewpoint/facilitator)
    info = pair("tcp://10.0.0.5:5555", "7KQ4-MZ2X", home)   # once per player, with the code it shows
    client = home.client("tcp://10.0.0.5:5555")       # or PlayerClient(endpoint, server_key, identity)
    client.request("seek", {"t": 12.5})               # -> result dict; CommandFailed / RequestTimeout
    client.subscribe(on_event=print)                  # clone-pattern: gapless, ordered, catch-up on gaps
    client.state, client.health()                     # clone state; connection health
    client.close()

Commands are retried Lazy-Pirate style with the *same* request id; the player never executes an id twice.
Callbacks run on the client's I/O thread: keep them short (hand over to your own loop, e.g. with
``loop.call_soon_threadsafe``).

The parts: :mod:`.player_client` (the API), :mod:`.lazy_pirate` (requests), :mod:`.subscription` (the I/O
thread), :mod:`.follower` (clone state), :mod:`.channel` (the I/O thread's calls and pings),
:mod:`.health`, :mod:`.home`, :mod:`.pairing`, :mod:`.sockets`, :mod:`.errors`.
"""

from .errors import ClientError, CommandFailed, PairingError, RequestTimeout
from .follower import EventCallback
from .home import FacilitatorHome, default_home
from .pairing import Paired, pair
from .player_client import PlayerClient
from .sockets import events_endpoint_for, pairing_endpoint_for

__all__ = [
    "ClientError",
    "CommandFailed",
    "EventCallback",
    "FacilitatorHome",
    "Paired",
    "PairingError",
    "PlayerClient",
    "RequestTimeout",
    "default_home",
    "events_endpoint_for",
    "pair",
    "pairing_endpoint_for",
]

"""The ``viewpoint-facilitator`` subcommands defined in this package: shared helpers (``common``), those that
talk to a player (``players``) and those that read or change the session store (``store``)."""

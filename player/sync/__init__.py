"""Group sync on the player's side: follow the group's timeline, act at shared instants (docs/group.md)."""

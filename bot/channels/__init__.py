"""Channel adapters: platform callbacks in, channel-neutral messages out (and back)."""

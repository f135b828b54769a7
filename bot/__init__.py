"""villagebot runtime: wiring, configuration, message flow and channels (no feature logic)."""

"""Persistence: typed ORM models, repositories (no commits) and migrations."""

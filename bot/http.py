"""One shared aiohttp client session for every platform API call, owned by the app."""

from __future__ import annotations

from aiohttp import ClientSession, ClientTimeout


class Http:
    """Created on first use (inside the running loop), closed when the app stops."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = ClientTimeout(total=timeout)
        self._session: ClientSession | None = None

    @property
    def session(self) -> ClientSession:
        if self._session is None or self._session.closed:
            self._session = ClientSession(timeout=self._timeout, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

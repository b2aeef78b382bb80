"""How to reach one corp's chat archive: the SDK library, the credentials and the network path.

:class:`CorpConnection` is what every SDK use starts from (a sync, a media job, a connection test).
It is a plain value, so it can be handed to a sync process; its secrets never appear in its repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .hosted import HostedSdk, LibrarySpec

if TYPE_CHECKING:
    from app.core.wecom.api import Access


@dataclass(frozen=True)
class CorpConnection:
    library: LibrarySpec
    corpid: str
    secret: str = field(repr=False)
    proxy: str | None = None
    proxy_passwd: str | None = field(default=None, repr=False)
    timeout: int = 30  # seconds per SDK call
    ca_file: str | None = None  # CA certificates to verify WeCom with (a company's TLS-inspecting proxy)
    simulated: bool = False  # the SDK simulator: no network, so no gettoken check

    def check_access(self) -> Access | None:
        """``gettoken`` from Python with certificate verification (app.core.wecom.api.check_access):
        an Access, or WeComAccessError with the sentence. None for the simulator (no network)."""
        if self.simulated:
            return None
        from app.core.wecom.api import check_access

        return check_access(self.corpid, self.secret, proxy=self.proxy, passwd=self.proxy_passwd,
                            ca_file=self.ca_file, timeout=min(float(self.timeout), 15.0))

    def open(self, *, media_hosts: int = 4, niceness: int = 0, check: bool = True) -> HostedSdk:
        """Check the access (unless ``check`` is False), then open the SDK in its host processes.
        WeComAccessError, SdkLoadError or SdkError say what is wrong."""
        if check:
            self.check_access()
        sdk = HostedSdk(self.library, self.corpid, self.secret, proxy=self.proxy, passwd=self.proxy_passwd,
                        timeout=self.timeout, media_hosts=media_hosts, niceness=niceness)
        try:
            return sdk.open()
        except BaseException:
            sdk.close()
            raise


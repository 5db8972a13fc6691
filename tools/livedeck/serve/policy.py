"""Who livedeck's local servers answer: one request policy for `watch` and `present`. Pure.

Both serve 127.0.0.1 only, yet any web page the person opens can make their browser send
requests there, and a DNS name of the attacker's that points at 127.0.0.1 (DNS rebinding) can
even read the answers. So every request, whatever its method, must:

- name this server in `Host` (127.0.0.1:PORT or localhost:PORT), exactly once;
- come from this server's own pages: `Origin` absent or this server, `Sec-Fetch-Site`
  absent, same-origin or none; a request that changes something must carry its Origin;
- carry the token first in its path where the server can reach a shell (present);
- use a method the server takes (GET, HEAD; POST only to the paths that take one) and a body
  that is absent, or declared with one valid Content-Length within the bound.

Anything else is refused with a 4xx status and a one-line reason, before any handler runs.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

READS = frozenset({"GET", "HEAD"})
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Refused:
    """A request the server does not answer: its status and why."""

    status: int
    reason: str


@dataclass(frozen=True)
class Policy:
    """The request policy of one server on 127.0.0.1:`port`."""

    port: int
    token: str | None = None  # the first path segment every request must carry
    posts: frozenset[str] = field(default_factory=frozenset)  # paths (under the token) to POST to
    max_body: int = MAX_BODY

    @property
    def hosts(self) -> frozenset[str]:
        """The Host values that name this server."""
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def check(self, method: str, path: str, headers: Mapping[str, Sequence[str]]) -> str | Refused:
        """The path the request asks for (under the token, without its `/`), or why it is
        refused. `headers` maps lower-case names to every value sent under that name."""
        host = headers.get("host", ())
        if len(host) != 1 or host[0] not in self.hosts:
            return Refused(403, "wrong Host: this server answers 127.0.0.1 and localhost only")
        origin = headers.get("origin", ())
        if len(origin) > 1 or (origin and origin[0] not in {f"http://{h}" for h in self.hosts}):
            return Refused(403, "wrong Origin: only this server's own pages may ask")
        fetch = headers.get("sec-fetch-site", ())
        if any(value not in ("same-origin", "none") for value in fetch):
            return Refused(403, "a request from another site")
        rest = path.removeprefix("/")
        if self.token is not None:
            prefix, _, rest = rest.partition("/")
            if not hmac.compare_digest(prefix.encode(), self.token.encode()):
                return Refused(403, "wrong token: open the URL livedeck printed")
        if method not in READS | {"POST"}:
            return Refused(405, f"method {method} is not allowed here")
        if method == "POST" and not origin:
            return Refused(403, "a request that changes something must carry its Origin")
        if method == "POST" and rest not in self.posts:
            return Refused(404 if self.posts else 405, "nothing here takes a POST")
        return self._body(method, headers) or rest

    def _body(self, method: str, headers: Mapping[str, Sequence[str]]) -> Refused | None:
        if headers.get("transfer-encoding"):
            return Refused(411, "send the body with a Content-Length, not chunked")
        length = headers.get("content-length", ())
        if len(length) > 1 or (length and not (length[0].isascii() and length[0].isdigit())):
            return Refused(400, "Content-Length must be one number")
        size = int(length[0]) if length else 0
        if method in READS and size:
            return Refused(400, f"a {method} request takes no body")
        if method == "POST" and size == 0:
            return Refused(400, "expected a JSON body")
        if size > self.max_body:
            return Refused(413, f"a body may hold at most {self.max_body} bytes")
        return None


def body_length(headers: Mapping[str, Sequence[str]]) -> int:
    """The Content-Length of a request the policy let through (0 without one)."""
    length = headers.get("content-length", ())
    return int(length[0]) if length else 0

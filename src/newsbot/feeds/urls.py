"""Feed and article URLs: validation of what a user typed, and the canonical form of an article URL.

The canonical form decides when two feeds carry the same article: host lower-cased, default port,
fragment and tracking parameters dropped, and http written as https (the same page either way).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsbot.errors import NewsbotError

# Query parameters that only say where a click came from, never which page it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "smid",
        "ito",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadFeedUrl(NewsbotError):
    """A URL newsbot will not fetch: not http(s), credentials in it, no host."""


def check_url(url: str) -> str:
    """The URL stripped of blanks, or BadFeedUrl with a reason a user can act on."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadFeedUrl(f"“{url[:200]}” is not a valid URL.") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise BadFeedUrl("Only http:// and https:// URLs can be followed.")
    if "@" in parts.netloc:
        raise BadFeedUrl("URLs with a user name or password in them are not followed.")
    if not parts.hostname:
        raise BadFeedUrl(f"“{url[:200]}” has no host name.")
    if port == 0:
        raise BadFeedUrl(f"“{url[:200]}” has port 0.")
    return url


def is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def canonical(url: str) -> str:
    """The one form of an article URL under which copies from two feeds collide."""
    return _normal(url, https=True)


def clean(url: str) -> str:
    """The URL to show and link to: as `canonical`, but with its own scheme (a site may have no https)."""
    return _normal(url, https=False)


def _normal(url: str, *, https: bool) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)]
    if https and scheme == "http":
        scheme = "https"  # http and https serve the same article
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same host (www. aside): a page may only name a canonical URL on
    its own site, or one feed could claim another site's articles and have their copies folded."""

    def host(url: str) -> str:
        name = (urlsplit(url).hostname or "").rstrip(".")
        return name.removeprefix("www.")

    return host(a) == host(b) != ""


def slug(text: str, limit: int = 60) -> str:
    """A folder-safe name: lower-case letters, digits and dashes."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:limit].rstrip("-") or "feed"

"""Webhook delivery, the pure parts: secrets, signatures, rotation, URL policy, retry schedule.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com, API.md "webhook
endpoints"), so partners can verify us with any of its libraries:

- a secret is ``whsec_`` + standard base64 of 24 to 64 random bytes (we make 32);
- the signed content is the bytes ``{webhook-id}.{webhook-timestamp}.`` followed by the body,
  exactly as sent; the timestamp is integer seconds since the epoch;
- ``webhook-signature`` is ``v1,`` + base64 of HMAC-SHA256(secret bytes, signed content), one per
  signing secret, separated by single spaces. After a rotation both the new and the previous
  secret sign until the overlap ends, so a receiver holding either one accepts the delivery.

Endpoint URLs are checked when they are registered (``check_url``): the same rules bind test and
live deployments, except that live ones only accept public targets (unless the operator sets
``ZEROPOOLS_WEBHOOK_ALLOW_PRIVATE``). The rule on names is only a first filter: a public-looking
name can resolve to a private address, so the sender checks every resolved address again when it
delivers and connects to the one it checked (``zeropools.workers.webhook_sender``).

Retries back off exponentially from ``WEBHOOK_BACKOFF_BASE_S`` to ``WEBHOOK_BACKOFF_CAP_S``. The
jitter (a number in [0, 1) passed in, like time) only ever shortens a delay, by at most
``WEBHOOK_BACKOFF_JITTER_FRACTION``, so the cap holds and the shortest possible schedule is known:
``WEBHOOK_ATTEMPTS_MAX`` is chosen so that even it spans ``WEBHOOK_RETRY_WINDOW_S`` (checked below,
at import).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import quote, urlsplit, urlunsplit

from zeropools.domain import limits
from zeropools.domain.errors import ValidationFailed

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
MODES = ("test", "live")

# Header-safe and without ".", so "{id}.{timestamp}." cannot be read two ways; our event ids
# (``evt_`` + ULID) always match.
_MSG_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{limits.ID_CHARS_MAX}}}")


# Secrets


def new_secret(random_bytes: bytes) -> str:
    """``whsec_`` + base64 of ``random_bytes`` (the caller reads ``WEBHOOK_SECRET_BYTES`` of them
    from ``secrets.token_bytes``: the domain reads no randomness itself)."""
    assert (
        limits.WEBHOOK_SECRET_BYTES_MIN <= len(random_bytes) <= limits.WEBHOOK_SECRET_BYTES_MAX
    ), len(random_bytes)
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def parse_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ``ValueError`` (never echoing it) if malformed.

    Padding may be left out, as some Standard Webhooks libraries do; anything that is not
    standard base64 (URL-safe characters, spaces, stray padding) is refused rather than guessed.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secret is malformed: it must start with {SECRET_PREFIX!r}")
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:  # binascii.Error, and non-ASCII text
        raise ValueError("webhook secret is malformed: not standard base64") from None
    if not limits.WEBHOOK_SECRET_BYTES_MIN <= len(key) <= limits.WEBHOOK_SECRET_BYTES_MAX:
        raise ValueError(
            f"webhook secret is malformed: {len(key)} bytes, not "
            f"{limits.WEBHOOK_SECRET_BYTES_MIN} to {limits.WEBHOOK_SECRET_BYTES_MAX}"
        )
    return key


# Signing


def sign(secrets: Sequence[str], msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>`` per secret, space-separated."""
    assert secrets, "an endpoint always has a current secret"
    assert _MSG_ID.fullmatch(msg_id), msg_id
    assert timestamp_s >= 0, timestamp_s
    signed = f"{msg_id}.{timestamp_s}.".encode("ascii") + body
    return " ".join(
        f"{SIGNATURE_VERSION},"
        + base64.b64encode(hmac.new(parse_secret(s), signed, hashlib.sha256).digest()).decode()
        for s in secrets
    )


def headers(secrets: Sequence[str], msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """Every header a delivery carries besides the sender's own (``User-Agent``)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": sign(secrets, msg_id, timestamp_s, body),
        "content-type": "application/json",
    }


# Rotation


@dataclass(frozen=True)
class EndpointSecrets:
    """An endpoint's signing secrets: the current one and, for a while after a rotation, the one
    it replaced, which keeps signing until ``previous_expires_at``."""

    current: str
    previous: str | None = None
    previous_expires_at: datetime | None = None

    def __post_init__(self) -> None:
        assert (self.previous is None) == (self.previous_expires_at is None), "both or neither"
        assert self.previous_expires_at is None or self.previous_expires_at.tzinfo is not None


def rotate(
    secrets: EndpointSecrets,
    new: str,
    *,
    now: datetime,
    overlap_s: object = limits.WEBHOOK_ROTATION_OVERLAP_DEFAULT_S,
) -> EndpointSecrets:
    """Make ``new`` current; the old current keeps signing for ``overlap_s`` seconds.

    Only two secrets ever sign: rotating again during an overlap drops the oldest one at once.
    ``overlap_s`` is the partner's input (``rotate-secret {overlap_s?}``), hence checked here;
    leave it out when the partner did.
    """
    assert now.tzinfo is not None, "naive datetimes are a bug: every time here is UTC"
    parse_secret(new)
    if (
        not isinstance(overlap_s, int)
        or isinstance(overlap_s, bool)
        or not 0 <= overlap_s <= limits.WEBHOOK_ROTATION_OVERLAP_MAX_S
    ):
        raise ValidationFailed.field(
            "overlap_s", f"an integer from 0 to {limits.WEBHOOK_ROTATION_OVERLAP_MAX_S} seconds"
        )
    if overlap_s == 0:
        return EndpointSecrets(new)
    return EndpointSecrets(new, secrets.current, now + timedelta(seconds=overlap_s))


def signing_secrets(secrets: EndpointSecrets, now: datetime) -> list[str]:
    """The secrets that sign a delivery made at ``now``: current first, then the previous one
    while its overlap lasts (it stops signing at ``previous_expires_at`` exactly)."""
    assert now.tzinfo is not None, "naive datetimes are a bug: every time here is UTC"
    if secrets.previous is None or secrets.previous_expires_at is None:
        return [secrets.current]
    if now < secrets.previous_expires_at:
        return [secrets.current, secrets.previous]
    return [secrets.current]


# Endpoint URLs

# Special-purpose ranges (IANA registries) a live webhook must never reach. Python's ``is_global``
# alone is not enough: in 3.11 it calls multicast, 6to4 and NAT64 forms of loopback, IPv4-
# compatible and site-local IPv6 addresses global, so these are checked explicitly as well.
_NOT_PUBLIC_V4: tuple[IPv4Network, ...] = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", with the unspecified address
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT, RFC 6598
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, with the clouds' metadata service 169.254.169.254
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, with the limited broadcast 255.255.255.255
    )
)
# IANA allocates global unicast from 2000::/3 only; everything else (loopback, unspecified,
# IPv4-compatible ::/96, ULA fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast
# ff00::/8, discard 100::/64, local-use NAT64 64:ff9b:1::/48) is outside it.
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_NOT_PUBLIC_V6: tuple[IPv6Network, ...] = tuple(
    IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, with Teredo 2001::/32 (a tunnel to anywhere)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing SIDs
    )
)
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
_PRIVATE_NAME_SUFFIXES = (
    "localhost",  # RFC 6761: always loopback
    "localdomain",
    "local",  # mDNS
    "internal",  # reserved for private use by ICANN; metadata.google.internal
    "intranet",
    "lan",
    "home",
    "corp",
    "home.arpa",  # RFC 8375
)
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_HOST_CHARS_MAX = 253  # DNS: a name is at most 253 characters in text form
# Kept as they are when a path or query is normalised: RFC 3986 reserved and unreserved
# characters, and "%" so existing escapes are not escaped twice.
_URL_SAFE = "/?:@!$&'()*+,;=-._~%"


def is_public_address(ip: IPv4Address | IPv6Address) -> bool:
    """True when ``ip`` is an ordinary public unicast address a live webhook may reach.

    Not public: loopback, private (RFC 1918, CGNAT), link-local (169.254/16 with the metadata
    address, fe80::/10), unspecified, multicast, reserved, broadcast, documentation and
    benchmarking ranges, IPv6 ULA and site-local, and any IPv6 form that carries an IPv4 address
    (mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d``, 6to4 ``2002:...``) whose IPv4 address
    is not public. The deprecated IPv4-compatible form ``::a.b.c.d`` and Teredo are never public.
    """
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _NOT_PUBLIC_V6):
            return False
    elif any(ip in net for net in _NOT_PUBLIC_V4):
        return False
    # Python's own tables as a second opinion, so a range either list misses is still caught.
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64_WELL_KNOWN:
        return IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def check_url(url: str, *, mode: str, allow_private: bool) -> str:
    """The normalised form of an endpoint URL, or ``ValidationFailed`` on field ``url``.

    Every mode: http or https only, a host, no credentials, no fragment, at most
    ``WEBHOOK_URL_CHARS_MAX`` characters, no spaces, control or invisible characters and no
    backslashes (parsers disagree about them, and a disagreement is how a check gets bypassed).
    Normalised: scheme and host in lower case; an international name in IDNA (``xn--``) form; no
    trailing dot; IP addresses in their canonical text (numeric hosts other than a dotted quad,
    such as ``0x7f.1`` or ``2130706433``, are refused: resolvers read them as IP addresses);
    the default port dropped; ``/`` for an empty path; other characters percent-encoded.

    ``live`` mode, unless ``allow_private``: an IP address must be public (``is_public_address``)
    and a name must have a dot and not end in a private-use suffix (``localhost``, ``internal``,
    ``local``, ...). The sender checks resolved addresses again at delivery time.
    """
    assert mode in MODES, mode
    if not isinstance(url, str) or not url:
        raise _refused("must be a non-empty string")
    if len(url) > limits.WEBHOOK_URL_CHARS_MAX:
        raise _refused(f"at most {limits.WEBHOOK_URL_CHARS_MAX} characters")
    if any(ch == "\\" or ch.isspace() or unicodedata.category(ch).startswith("C") for ch in url):
        raise _refused("no spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused("not a valid URL (check the host and port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refused("must use http or https")
    if "#" in url:
        raise _refused("must not contain a fragment")
    if "@" in parts.netloc:
        raise _refused("must not contain credentials")
    if not parts.hostname:
        raise _refused("must name a host")
    if port == 0:
        raise _refused("port must be from 1 to 65535")
    host = _normalised_host(parts.hostname, bracketed=parts.netloc.startswith("["))
    if mode == "live" and not allow_private:
        _check_live_host(host)
    host_text = f"[{host}]" if isinstance(host, IPv6Address) else str(host)
    default_port = 80 if scheme == "http" else 443
    netloc = host_text if port in (None, default_port) else f"{host_text}:{port}"
    path = quote(parts.path, safe=_URL_SAFE) or "/"
    normalised = urlunsplit((scheme, netloc, path, quote(parts.query, safe=_URL_SAFE), ""))
    if len(normalised) > limits.WEBHOOK_URL_CHARS_MAX:  # IDNA and escapes make a URL longer
        raise _refused(f"at most {limits.WEBHOOK_URL_CHARS_MAX} characters once normalised")
    return normalised


def _normalised_host(hostname: str, *, bracketed: bool) -> str | IPv4Address | IPv6Address:
    """An IP address, or a lower-case ASCII name without the trailing dot."""
    if "%" in hostname:
        raise _refused("host must not contain '%' (IPv6 zone ids are not reachable addresses)")
    if bracketed:
        try:
            return IPv6Address(hostname)
        except ValueError:
            raise _refused("brackets must hold an IPv6 address") from None
    try:
        # The stdlib codec (IDNA 2003) maps case and compatibility forms (fullwidth digits and
        # dots) to ASCII first, so the checks below see the name a resolver will see.
        name = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refused("host is not a valid domain name") from None
    name = name.removesuffix(".")
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        try:
            return IPv4Address(name)  # strict: four decimal parts, no leading zeros
        except ValueError:
            raise _refused("a numeric host must be an IPv4 address such as 192.0.2.1") from None
    if len(name) > _HOST_CHARS_MAX or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refused("host is not a valid domain name")
    return name


def _check_live_host(host: str | IPv4Address | IPv6Address) -> None:
    if isinstance(host, IPv4Address | IPv6Address):
        if not is_public_address(host):
            raise _refused(f"{host} is not a public address; live webhooks go to public hosts")
        return
    if any(host == suffix or host.endswith("." + suffix) for suffix in _PRIVATE_NAME_SUFFIXES):
        raise _refused(f"{host} is a private name; live webhooks go to public hosts")
    if "." not in host:  # resolved through search domains: an internal host, most likely
        raise _refused("live webhooks need a fully qualified host name (with a dot)")


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed.field("url", message)


# Retries


def backoff_delay_s(
    attempt: int,
    jitter: float,
    *,
    base_s: float = limits.WEBHOOK_BACKOFF_BASE_S,
    cap_s: float = limits.WEBHOOK_BACKOFF_CAP_S,
) -> float:
    """The wait after failed attempt number ``attempt`` (from 1): ``base_s * 2**(attempt-1)``
    capped at ``cap_s``, shortened by ``jitter`` (in [0, 1)) times the jitter fraction."""
    assert attempt >= 1, attempt
    assert 0.0 <= jitter < 1.0, jitter
    exponent = min(attempt - 1, 62)  # 2**62 seconds is far past any cap; keeps the int small
    full_s = min(cap_s, base_s * (1 << exponent))
    return full_s * (1.0 - limits.WEBHOOK_BACKOFF_JITTER_FRACTION * jitter)


def next_attempt_delay_s(attempt: int, jitter: float) -> float | None:
    """Seconds to wait after failed attempt ``attempt`` (from 1), or ``None``: give up, the
    delivery is ``failed``. ``jitter`` is a uniform random number in [0, 1) from the caller."""
    if attempt >= limits.WEBHOOK_ATTEMPTS_MAX:
        return None
    return backoff_delay_s(attempt, jitter)


def retry_span_min_s() -> float:
    """The shortest time from the first attempt to the last: every jitter at its maximum."""
    shortest = 1.0 - limits.WEBHOOK_BACKOFF_JITTER_FRACTION
    return sum(
        backoff_delay_s(attempt, 0.0) * shortest
        for attempt in range(1, limits.WEBHOOK_ATTEMPTS_MAX)
    )


assert retry_span_min_s() >= limits.WEBHOOK_RETRY_WINDOW_S, "raise WEBHOOK_ATTEMPTS_MAX"

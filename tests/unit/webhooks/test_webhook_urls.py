"""Endpoint URL policy and the classification of IP addresses.

Goal: a live deployment never registers a webhook that points into its own network (loopback,
private and CGNAT ranges, link-local with the metadata service, IPv6 ULA and link-local, and the
IPv6 spellings of all of those), while a test deployment may, as API.md says; in every mode a URL
that is not plain http(s) to a host (credentials, fragments, other schemes, ambiguous numeric
hosts, over-long) is refused on field ``url``; an accepted URL comes back normalised.

Method: one table of private targets tried in each mode, one table of URLs refused everywhere,
one of normalisations; ``is_public_address`` on one example of each special-purpose range, and a
hypothesis property that the IPv6 forms embedding an IPv4 address classify like that address.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeropools.domain import limits
from zeropools.domain.errors import ValidationFailed
from zeropools.domain.webhooks import check_url, is_public_address

PRIVATE_TARGETS = [
    "http://127.0.0.1:8080/hook",
    "http://127.8.9.10/",
    "http://[::1]/hook",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.10/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456:789a::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/",  # 6to4 of 10.0.0.1
    "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated)
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST:3000/",
    "http://localhost./",
    "http://api.localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://billing.internal/",
    "http://printer.local/",
    "http://nas.home.arpa/",
    "http://intranet/",  # one label: reached through the resolver's search domains
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # fullwidth 127.0.0.1
]

REFUSED_EVERYWHERE = [
    ("", "empty"),
    ("ftp://example.com/hook", "another scheme"),
    ("javascript:alert(1)", "another scheme"),
    ("example.com/hook", "no scheme"),
    ("http:///hook", "no host"),
    ("http://:8080/hook", "no host"),
    ("https://user:secret@example.com/hook", "credentials"),
    ("https://user@example.com/hook", "a user name"),
    ("https://example.com/hook#section", "a fragment"),
    ("https://example.com/hook#", "an empty fragment"),
    ("https://example.com/" + "a" * limits.WEBHOOK_URL_CHARS_MAX, "too long"),
    ("https://exa mple.com/", "a space"),
    (" https://example.com/", "a leading space"),
    ("https://example.com/\n", "a newline"),
    ("https://example.com\\@evil.example/", "a backslash"),
    ("https://example.com/\u202egnp.exe", "an invisible control character"),
    ("http://0x7f.0.0.1/", "a hexadecimal IPv4 part"),
    ("http://2130706433/", "an IPv4 address as one number"),
    ("http://127.1/", "a short IPv4 address"),
    ("http://0177.0.0.1/", "an octal IPv4 part"),
    ("http://[fe80::1%25eth0]/", "an IPv6 zone id"),
    ("http://[example.com]/", "brackets without an IPv6 address"),
    ("http://example.com:99999/", "a port out of range"),
    ("http://example.com:0/", "port zero"),
    ("http://example.com:http/", "a port that is not a number"),
    ("http://a..example.com/", "an empty label"),
    ("http://-bad-.example.com/", "a label starting with a hyphen"),
    ("http://" + "a" * 64 + ".example.com/", "a label over 63 characters"),
]

NORMALISED = [
    ("https://Hooks.Example.COM/Path?q=1", "https://hooks.example.com/Path?q=1"),
    ("HTTPS://example.com", "https://example.com/"),
    ("https://example.com:443/hook", "https://example.com/hook"),
    ("http://example.com:80/hook", "http://example.com/hook"),
    ("http://example.com:8443/hook", "http://example.com:8443/hook"),
    ("https://example.com./hook", "https://example.com/hook"),
    ("https://bücher.example/hook", "https://xn--bcher-kva.example/hook"),
    ("https://xn--bcher-kva.example/hook", "https://xn--bcher-kva.example/hook"),
    ("https://example.com/wébhook?ü=1", "https://example.com/w%C3%A9bhook?%C3%BC=1"),
    ("https://example.com/a%20b", "https://example.com/a%20b"),
    ("http://8.8.8.8/hook", "http://8.8.8.8/hook"),
    ("http://[2606:4700:4700:0:0:0:0:1111]/", "http://[2606:4700:4700::1111]/"),
    ("https://hooks_1.example.com/", "https://hooks_1.example.com/"),
]


def refusal(url: str, mode: str, allow_private: bool = False) -> str:
    with pytest.raises(ValidationFailed) as refused:
        check_url(url, mode=mode, allow_private=allow_private)
    assert refused.value.code == "validation_error"
    (error,) = refused.value.extra["errors"]
    assert error["field"] == "url"
    return str(error["message"])


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_a_private_target_is_allowed_in_test_mode(url: str) -> None:
    check_url(url, mode="test", allow_private=False)


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_a_private_target_is_refused_in_live_mode(url: str) -> None:
    message = refusal(url, "live")
    assert "public" in message or "qualified" in message


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
def test_a_private_target_is_allowed_in_live_mode_when_the_operator_allows_it(url: str) -> None:
    check_url(url, mode="live", allow_private=True)


@pytest.mark.parametrize("mode", ["test", "live"])
@pytest.mark.parametrize(("url", "why"), REFUSED_EVERYWHERE)
def test_a_malformed_url_is_refused_in_every_mode(url: str, why: str, mode: str) -> None:
    assert refusal(url, mode, allow_private=True), why


@pytest.mark.parametrize(("url", "expected"), NORMALISED)
def test_an_accepted_url_comes_back_normalised(url: str, expected: str) -> None:
    assert check_url(url, mode="live", allow_private=False) == expected
    assert check_url(expected, mode="live", allow_private=False) == expected  # a fixed point


def test_the_refusal_names_the_reason() -> None:
    assert "credentials" in refusal("https://u:p@example.com/", "test")
    assert "http or https" in refusal("ftp://example.com/", "test")
    assert "fragment" in refusal("https://example.com/#x", "test")
    assert "169.254.169.254 is not a public address" in refusal("http://169.254.169.254/", "live")
    assert "metadata.google.internal is a private name" in refusal(
        "http://metadata.google.internal/", "live"
    )


def test_a_url_of_exactly_the_maximum_length_is_accepted() -> None:
    prefix = "https://example.com/"
    url = prefix + "a" * (limits.WEBHOOK_URL_CHARS_MAX - len(prefix))
    assert check_url(url, mode="live", allow_private=False) == url


NOT_PUBLIC = {
    "unspecified v4": "0.0.0.0",
    "this network": "0.1.2.3",
    "loopback v4": "127.0.0.1",
    "loopback v4, whole /8": "127.255.0.1",
    "RFC 1918 10/8": "10.255.255.255",
    "RFC 1918 172.16/12": "172.20.1.1",
    "RFC 1918 192.168/16": "192.168.0.1",
    "CGNAT 100.64/10": "100.100.100.100",
    "link-local v4": "169.254.1.1",
    "cloud metadata": "169.254.169.254",
    "IETF assignments": "192.0.0.8",
    "documentation v4": "192.0.2.1",
    "benchmarking": "198.18.0.1",
    "multicast v4": "239.255.255.250",
    "reserved v4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "unspecified v6": "::",
    "loopback v6": "::1",
    "IPv4-compatible v6": "::8.8.8.8",
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped private": "::ffff:192.168.0.1",
    "IPv4-mapped metadata": "::ffff:169.254.169.254",
    "IPv4-translated": "::ffff:0:808:808",
    "NAT64 of loopback": "64:ff9b::7f00:1",
    "NAT64 local-use": "64:ff9b:1::1",
    "6to4 of loopback": "2002:7f00:1::1",
    "6to4 of RFC 1918": "2002:c0a8:1::1",
    "Teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "documentation v6": "2001:db8::1",
    "ULA fc00::/7": "fc00::1",
    "ULA fd00::/8": "fdff:ffff::1",
    "link-local v6": "fe80::1",
    "link-local v6 with a zone": "fe80::1%2",
    "site-local v6": "fec0::1",
    "multicast v6": "ff02::1",
    "discard v6": "100::1",
}
PUBLIC = {
    "public v4": "8.8.8.8",
    "public v4 beside CGNAT": "100.128.0.1",
    "public v4 beside 172.16/12": "172.32.0.1",
    "public v6": "2606:4700:4700::1111",
    "IPv4-mapped public": "::ffff:8.8.8.8",
    "NAT64 of public": "64:ff9b::808:808",
    "6to4 of public": "2002:808:808::1",
}


@pytest.mark.parametrize(("kind", "address"), NOT_PUBLIC.items())
def test_special_purpose_addresses_are_not_public(kind: str, address: str) -> None:
    assert not is_public_address(ip_address(address)), kind


@pytest.mark.parametrize(("kind", "address"), PUBLIC.items())
def test_ordinary_unicast_addresses_are_public(kind: str, address: str) -> None:
    assert is_public_address(ip_address(address)), kind


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv6_forms_of_an_ipv4_address_classify_like_it(value: int) -> None:
    v4 = IPv4Address(value)
    mapped = IPv6Address(f"::ffff:{v4}")
    nat64 = IPv6Address((0x64FF9B << 96) | value)
    sixtofour = IPv6Address((0x2002 << 112) | (value << 80) | 1)
    assert is_public_address(mapped) == is_public_address(v4)
    assert is_public_address(nat64) == is_public_address(v4)
    assert is_public_address(sixtofour) == is_public_address(v4)
    assert not is_public_address(IPv6Address(value))  # IPv4-compatible: never

"""Tell camt XML from MT940 text by content (never by file name), and refuse everything else.

XML is parsed with defusedxml and any DTD is refused: camt files never carry one, and a DTD is
how entity-expansion ("billion laughs") and external-entity attacks get in.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as DefusedET

from zeropools.bankfiles.model import StatementError
from zeropools.domain.limits import IMPORT_FILE_BYTES_MAX

STATEMENT_BYTES_MAX = IMPORT_FILE_BYTES_MAX

_NOT_A_STATEMENT = "not a camt.053/camt.054 or MT940 statement"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Signatures of files people upload by mistake, so the message can name what they sent.
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel/Office file)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)
_ISO20022 = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4}\.[0-9]{3})\.(?P<version>[0-9]{3}\.[0-9]{2})"
)
# A line that starts with an MT940 field tag; ":\n86:" is a wrapped tag some banks write.
_MT940_TAG = re.compile(r"^:\n?(?:20|25|28C?|60[FM]|61|62[FM]):", re.MULTILINE)
# MT942 interim reports look alike but report unbooked movements; these tags are theirs only.
_MT942_TAG = re.compile(r"^:\n?(?:34F|13D):|\{2:[IO]942", re.MULTILINE)


@dataclass(frozen=True)
class Camt:
    root: ET.Element
    namespace: str
    message: str  # "camt.053" or "camt.054"
    version: str  # "001.08"


@dataclass(frozen=True)
class Mt940:
    text: str


def sniff(data: bytes) -> Camt | Mt940:
    """The parsed camt document or the decoded MT940 text; ``StatementError`` for anything else."""
    if not data:
        raise StatementError("file is empty")
    if len(data) > STATEMENT_BYTES_MAX:
        raise StatementError(
            f"file is {len(data)} bytes, more than the limit of {STATEMENT_BYTES_MAX} bytes "
            f"({STATEMENT_BYTES_MAX // 1_048_576} MiB)"
        )
    if data.startswith(_UTF16_BOMS):
        # Expat reads UTF-16 with a byte-order mark itself; MT940 is never UTF-16.
        return _camt(data)
    head = data.removeprefix(_UTF8_BOM).lstrip()
    if not head:
        raise StatementError("file contains only whitespace")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise StatementError(f"{_NOT_A_STATEMENT}: the file is {what}")
    if head.startswith(b"<"):
        lowered = head[:200].lower()
        if lowered.startswith(b"<!doctype html") or b"<html" in lowered:
            raise StatementError(f"{_NOT_A_STATEMENT}: the file is an HTML page")
        return _camt(data)
    if head.startswith((b"{", b"[")) and not head.startswith(b"{1:"):
        raise StatementError(f"{_NOT_A_STATEMENT}: the file looks like JSON")
    return _mt940(head)


def _camt(data: bytes) -> Camt:
    root = _parse_xml(data)
    match = re.fullmatch(r"\{(?P<ns>[^}]*)\}(?P<local>.+)", root.tag)
    namespace, local = (match["ns"], match["local"]) if match else ("", root.tag)
    if local != "Document":
        raise StatementError(f"{_NOT_A_STATEMENT}: root element is <{local}>")
    iso = _ISO20022.fullmatch(namespace)
    if iso is None:
        raise StatementError(
            f"{_NOT_A_STATEMENT}: <Document> has namespace {namespace!r}, not ISO 20022 camt"
        )
    message, version = iso["message"], iso["version"]
    if message == "camt.052":
        raise StatementError(
            f"{message}.{version} is an intraday account report, which is not supported; "
            "send the camt.053 statement or camt.054 notification instead"
        )
    if message not in ("camt.053", "camt.054"):
        raise StatementError(f"{_NOT_A_STATEMENT}: the XML message is {message}.{version}")
    if version < "001.02":
        raise StatementError(f"{message}.{version} is too old; version 001.02 or later is needed")
    return Camt(root=root, namespace=namespace, message=message, version=version)


def _parse_xml(data: bytes) -> ET.Element:
    try:
        root: ET.Element = DefusedET.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DTDForbidden:
        raise StatementError(
            "XML with a DTD (<!DOCTYPE ...>) is refused: bank statements never need one and it "
            "can carry entity-expansion or external-entity attacks"
        ) from None
    except defusedxml.DefusedXmlException as error:
        raise StatementError(
            f"XML with entity declarations or external references is refused ({error})"
        ) from None
    except ET.ParseError as error:
        raise StatementError(f"malformed XML: {error}") from None
    except LookupError as error:
        # The XML declaration names an encoding Python does not know.
        raise StatementError(f"malformed XML: {error}") from None
    except (ValueError, UnicodeError) as error:
        # The declaration names an encoding the XML parser cannot read (utf-7, shift_jis, ...:
        # "multi-byte encodings are not supported"). ISO 20022 messages are UTF-8 anyway.
        raise StatementError(
            f"the XML declares an encoding that cannot be read ({error}); camt files are UTF-8"
        ) from None
    return root


def _mt940(data: bytes) -> Mt940:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # German and Dutch banks still send ISO 8859-1; latin-1 decodes any byte, so this
        # never fails, and the MT940 tags themselves are ASCII either way.
        text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text or not _MT940_TAG.search(text):
        raise StatementError(
            f"{_NOT_A_STATEMENT}: no XML document and no MT940 fields (:20:, :25:, :61: ...)"
        )
    if _MT942_TAG.search(text):
        raise StatementError(
            "MT942 interim transaction reports are not supported: their lines are not booked"
        )
    return Mt940(text=text)

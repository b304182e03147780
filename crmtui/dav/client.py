"""A small WebDAV client for CardDAV and CalDAV collections, over httpx.

What the sync needs and no more: find the principal's address book and calendar
homes (RFC 6352, RFC 4791, RFC 5397), make a collection, list a collection's
resources with their ETags, and get, put and delete one resource with
`If-Match`/`If-None-Match`, so an edit on the phone between our listing and our
write is never overwritten (the server answers 412 and the next round merges it).
Every failure a user can meet is a `DavError` with a one-line message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

DAV = "DAV:"
CARD = "urn:ietf:params:xml:ns:carddav"
CAL = "urn:ietf:params:xml:ns:caldav"
VCARD_TYPE = "text/vcard; charset=utf-8"
ICAL_TYPE = "text/calendar; charset=utf-8"

_PRINCIPAL = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
    "<d:prop><d:current-user-principal/></d:prop></d:propfind>"
)
_HOMES = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<d:propfind xmlns:d="DAV:" xmlns:card="{CARD}" xmlns:cal="{CAL}"><d:prop>'
    "<card:addressbook-home-set/><cal:calendar-home-set/></d:prop></d:propfind>"
)
_TYPE = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
    "<d:prop><d:resourcetype/></d:prop></d:propfind>"
)
_ETAGS = (
    '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
    "<d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"
)


class DavError(Exception):
    """A DAV request that failed, in words a user can act on; `kind` sorts the cause."""

    def __init__(self, message: str, kind: str = "server") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "url", "auth", "unreachable", "server", "changed", "missing"


@dataclass(frozen=True)
class Homes:
    """Where the principal's address books and calendars live (absolute URLs)."""

    addressbooks: str
    calendars: str


def check_url(url: str) -> str:
    """The server URL, checked: http(s) with a host; ends with "/"."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DavError(
            f"not a server URL: {url!r} (expected http://host/... or https://...)", "url"
        )
    text = url.strip()
    return text if text.endswith("/") else text + "/"


def _tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class DavClient:
    """One server account: requests with its credentials, answers as Python values."""

    def __init__(
        self, url: str, user: str | None, password: str | None, *, timeout: float = 20.0
    ) -> None:
        self.url = check_url(url)
        auth = httpx.BasicAuth(user, password or "") if user else None
        self._http = httpx.Client(auth=auth, timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> DavClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 204, 207),
    ) -> httpx.Response:
        try:
            response = self._http.request(method, url, content=body, headers=headers or {})
        except httpx.ConnectError as exc:
            raise DavError(f"cannot reach {self.url}: {exc}", "unreachable") from exc
        except httpx.TimeoutException as exc:
            raise DavError(f"{self.url} did not answer in time", "unreachable") from exc
        except httpx.HTTPError as exc:
            raise DavError(f"{method} {url} failed: {exc}", "unreachable") from exc
        if response.status_code in ok:
            return response
        if response.status_code == 401:
            raise DavError(f"{self.url} refused the user name or password (401)", "auth")
        if response.status_code == 403:
            raise DavError(f"{method} {url}: not allowed for this user (403)", "auth")
        if response.status_code == 412:
            raise DavError(f"{url} changed on the server since it was read", "changed")
        if response.status_code == 404:
            raise DavError(f"{url} is not on the server (404)", "missing")
        raise DavError(f"{method} {url}: the server answered {response.status_code}", "server")

    def _propfind(self, url: str, body: str, depth: str) -> list[tuple[str, ET.Element]]:
        """(absolute href, prop element) of each 200 propstat of a PROPFIND."""
        response = self._send(
            "PROPFIND",
            url,
            body=body,
            headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"},
        )
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise DavError(f"{url} is not a WebDAV server (its answer is not XML)", "url") from exc
        out = []
        for item in root.iter(_tag(DAV, "response")):
            href = item.findtext(_tag(DAV, "href")) or ""
            for stat in item.iter(_tag(DAV, "propstat")):
                status = stat.findtext(_tag(DAV, "status")) or ""
                prop = stat.find(_tag(DAV, "prop"))
                if " 200 " in status and prop is not None:
                    out.append((urljoin(url, href), prop))
        return out

    def check(self) -> None:
        """Raise DavError unless the URL answers PROPFIND as WebDAV with these credentials."""
        self._propfind(self.url, _TYPE, "0")

    def homes(self) -> Homes:
        """The principal's address book and calendar homes (the URL itself when not said)."""
        principal = self.url
        for _, prop in self._propfind(self.url, _PRINCIPAL, "0"):
            href = prop.findtext(f"{_tag(DAV, 'current-user-principal')}/{_tag(DAV, 'href')}")
            if href:
                principal = urljoin(self.url, href)
        books = calendars = principal
        for _, prop in self._propfind(principal, _HOMES, "0"):
            book = prop.findtext(f"{_tag(CARD, 'addressbook-home-set')}/{_tag(DAV, 'href')}")
            cal = prop.findtext(f"{_tag(CAL, 'calendar-home-set')}/{_tag(DAV, 'href')}")
            books = urljoin(principal, book) if book else books
            calendars = urljoin(principal, cal) if cal else calendars
        return Homes(books, calendars)

    def ensure_collection(self, url: str, kind: str, name: str) -> str:
        """The collection at `url` ("addressbook" or "calendar"), made when missing."""
        url = url if url.endswith("/") else url + "/"
        try:
            found = self._propfind(url, _TYPE, "0")
        except DavError as exc:
            if exc.kind != "missing":
                raise
            found = []
        ns = CARD if kind == "addressbook" else CAL
        for _, prop in found:
            types = prop.find(_tag(DAV, "resourcetype"))
            if types is not None and types.find(_tag(ns, kind)) is not None:
                return url
            if found:
                raise DavError(f"{url} exists and is not a{'n' * (kind[0] == 'a')} {kind}", "url")
        if kind == "addressbook":
            body = (
                f'<?xml version="1.0" encoding="utf-8"?><d:mkcol xmlns:d="DAV:" xmlns:c="{CARD}">'
                "<d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>"
                f"<d:displayname>{name}</d:displayname></d:prop></d:set></d:mkcol>"
            )
            self._send("MKCOL", url, body=body, headers={"Content-Type": "application/xml"})
        else:
            body = (
                f'<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
                f'xmlns:c="{CAL}"><d:set><d:prop><d:displayname>{name}</d:displayname>'
                '<c:supported-calendar-component-set><c:comp name="VTODO"/>'
                '<c:comp name="VEVENT"/></c:supported-calendar-component-set>'
                "</d:prop></d:set></c:mkcalendar>"
            )
            self._send("MKCALENDAR", url, body=body, headers={"Content-Type": "application/xml"})
        return url

    def listing(self, collection: str) -> dict[str, str | None]:
        """{absolute href: ETag} of every resource (not sub-collection) in a collection."""
        out: dict[str, str | None] = {}
        base = unquote(urlsplit(collection).path).rstrip("/")
        for href, prop in self._propfind(collection, _ETAGS, "1"):
            types = prop.find(_tag(DAV, "resourcetype"))
            if unquote(urlsplit(href).path).rstrip("/") == base:
                continue
            if types is not None and types.find(_tag(DAV, "collection")) is not None:
                continue
            out[href] = prop.findtext(_tag(DAV, "getetag"))
        return out

    def get(self, href: str) -> tuple[str, str | None]:
        """A resource's text and ETag."""
        response = self._send("GET", href, ok=(200,))
        return response.content.decode("utf-8", errors="replace"), response.headers.get("ETag")

    def put(self, href: str, text: str, content_type: str, etag: str | None) -> str | None:
        """Write a resource: over `etag` (412 if the server's is another), or new when None.

        Returns the new ETag (asked for when the answer has none, as some servers do).
        """
        headers = {"Content-Type": content_type}
        headers.update({"If-Match": etag} if etag else {"If-None-Match": "*"})
        response = self._send("PUT", href, body=text, headers=headers, ok=(200, 201, 204))
        tag = response.headers.get("ETag")
        if tag and not tag.startswith("W/"):
            return tag
        found = self._propfind(href, _ETAGS, "0")
        return found[0][1].findtext(_tag(DAV, "getetag")) if found else None

    def delete(self, href: str, etag: str | None) -> None:
        """Remove a resource (if still at `etag`); one already gone is not an error."""
        headers = {"If-Match": etag} if etag else {}
        try:
            self._send("DELETE", href, headers=headers, ok=(200, 204))
        except DavError as exc:
            if exc.kind != "missing":
                raise


def describe(obj: Any) -> str:
    """A short text of a DavError or any other exception, for a one-line message."""
    return obj.message if isinstance(obj, DavError) else str(obj)

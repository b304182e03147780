"""Reading real messages (tests/data/mail, sources in SOURCES.md) for the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmtui.domain.mail import first_part
from crmtui.formats.mail_message import MailFormatError, html_to_text, parse_message
from crmtui.formats.mail_template import TemplateError, parse_template, render

DATA = Path(__file__).parent / "data" / "mail"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_encoded_headers_quoted_printable_latin1_and_a_named_attachment() -> None:
    msg = parse_message(read("gitlist_rene_haber.eml"))
    assert msg.message_id == "<0E2B8DE3-1ABD-453F-BCAA-0D693ECA5987@habr.de>"
    assert msg.subject == "Re: Bug: pull --rebase with é in name"
    assert [str(a) for a in msg.sender] == ["René Haber <rene@habr.de>"]
    assert [a.addr for a in msg.cc] == ["trast@inf.ethz.ch", "git@vger.kernel.org"]
    assert msg.date == datetime(2012, 3, 5, 12, 46, 39, tzinfo=UTC)
    assert msg.attachments == ["16b9441.commit"]
    # Quoted-printable soft breaks joined, =E9 read as Latin-1, the quoted reply left out.
    excerpt = msg.excerpt()
    assert "get_author_ident_from_commit 16b94413cbce" in excerpt
    assert "GIT_AUTHOR_NAME='Ren'é Haber" in excerpt
    assert "schrieb Jeff King" not in excerpt and "> Hmm" not in excerpt
    assert "tree 23839d0aaf5" not in msg.body  # the attachment is named, not read


def test_koi8r_base64_body_and_subject() -> None:
    msg = parse_message(read("thunderbird_sample04.eml"))
    assert msg.subject == "Алфавит"
    assert msg.body.strip() == "Вопрос"


def test_html_only_mail_becomes_text_and_its_inline_image_is_named() -> None:
    msg = parse_message(read("thunderbird_sample08.eml"))
    assert msg.excerpt() == "Example body\n\nwith embedded image."
    assert msg.attachments == ["blue_pixel_1x1.png"]


def test_alternative_prefers_the_plain_part() -> None:
    msg = parse_message(read("cpython_msg_15.eml"))
    assert msg.excerpt() == "Some removed test."


def test_two_jpeg_attachments_are_named() -> None:
    msg = parse_message(read("cpython_msg_22.eml"))
    assert msg.attachments == ["wibble.JPG", "wibble2.JPG"]
    assert msg.excerpt() == "Text text text."
    assert msg.date is not None and msg.date.utcoffset() == timedelta(hours=3)


def test_not_a_message_is_refused() -> None:
    with pytest.raises(MailFormatError, match="no mail headers"):
        parse_message(b"just some text\nwithout headers\n")


def test_html_to_text_drops_styles_and_keeps_paragraphs() -> None:
    html = "<html><head><style>p{}</style></head><body><p>Hi&nbsp;Anna</p><p>Price: 5&euro;</p></body></html>"
    assert html_to_text(html) == "Hi Anna\n\nPrice: 5€"


def test_first_part_stops_at_the_quote_and_the_signature() -> None:
    body = "Thanks, agreed.\n\nOn Mon, Anna wrote:\n> old text\n"
    assert first_part(body) == "Thanks, agreed."
    assert first_part("Short.\n-- \nAnna Müller\nAcme") == "Short."
    assert first_part("x" * 5000, limit=100).endswith("…")


def test_template_fields_defaults_and_missing_values() -> None:
    template = parse_template(
        "Subject: Offer for {company|you}\n\nHello {first_name},\n{{not a field}}\n"
    )
    filled = render(template, {"first_name": "Anna", "company": None}, "Anna")
    assert filled.subject == "Offer for you"
    assert filled.body == "Hello Anna,\n{not a field}\n"
    with pytest.raises(TemplateError, match=r"Anna: no value for \{deal\}"):
        render(parse_template("Subject: {deal}\n\nx\n"), {"deal": None}, "Anna")
    with pytest.raises(TemplateError, match=r"unknown merge field \{nmae\}"):
        parse_template("Subject: hi\n\nDear {nmae}\n")
    with pytest.raises(TemplateError, match="first line must be 'Subject"):
        parse_template("Hello\n\nbody\n")

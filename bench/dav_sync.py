"""CardDAV sync benchmark: `crm dav sync` rounds against a local Radicale, per contact count.

    python bench/dav_sync.py [--contacts 2000] [--edits 50]

Times, in-process, three rounds of the address book (calendar off): the first (every
card new: one PUT each), a quiet one (one PROPFIND; nothing written), and one after
`--edits` cards were changed "on the phone" (a GET, the field diff, the journaled edit
and a PUT each). The baseline in the same run is the server's own cost of the same
number of PUTs from a bare httpx client (the floor of the first round), so the ratio
says what the sync adds. The machine is shared: read ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from crmtui.dav.client import DavClient
from crmtui.dav.run import DavSettings, run_sync, set_up
from crmtui.demo.generator import seed_demo
from crmtui.store.database import open_store
from tests.dav_support import Phone, radicale


def main() -> None:
    """Run the three rounds and the baseline; print one line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, radicale(Path(tmp) / "radicale") as server:
        import os

        os.environ["BENCH_DAV_PW"] = server.password
        seed_demo(Path(tmp) / "crm.db", contacts=args.contacts, seed=1)
        store = open_store(Path(tmp) / "crm.db")
        settings = set_up(
            store,
            DavSettings(
                url=server.url,
                user=server.user,
                password_env="BENCH_DAV_PW",
                addressbook=f"{server.url}{server.user}/bench/",
            ),
            calendar=False,
        )
        with store.read() as s:
            n = (
                s.connection()
                .exec_driver_sql(
                    "SELECT count(*) FROM contact WHERE deleted_at IS NULL AND archived_at IS NULL"
                )
                .scalar()
            )

        def round_() -> float:
            start = time.perf_counter()
            run_sync(store, settings, region="DE", tz=UTC, now=lambda: datetime.now(UTC))
            return time.perf_counter() - start

        first = round_()
        quiet = round_()
        phone = Phone(server)
        listing = httpx.request(
            "PROPFIND",
            settings.addressbook or "",
            headers={"Depth": "1"},
            auth=(server.user, server.password),
        ).text
        hrefs = [h.split("</")[0] for h in listing.split("href>")[1::2] if h.endswith(".vcf</")]
        for href in hrefs[: args.edits]:
            url = server.url.rstrip("/") + href
            card = phone.get(url)
            phone.put(url, card.replace("END:VCARD", "NICKNAME:bench\r\nEND:VCARD"))
        edited = round_()
        # Baseline: the same number of PUTs of the same size, from a bare client.
        body = phone.get(server.url.rstrip("/") + hrefs[0])
        uid = next(line for line in body.split("\r\n") if line.startswith("UID:"))
        floor_book = f"{server.url}{server.user}/bench-floor/"
        with DavClient(server.url, server.user, server.password) as client:
            client.ensure_collection(floor_book, "addressbook", "floor")
        start = time.perf_counter()
        for i in range(n):
            phone.put(f"{floor_book}{i}.vcf", body.replace(uid, f"UID:floor-{i}"))
        floor = time.perf_counter() - start
        phone.close()
        store.close()
    print(
        f"contacts {n}: first round {first:.2f} s, bare PUTs {floor:.2f} s"
        f" (x{first / floor:.2f}); quiet round {quiet:.3f} s;"
        f" {args.edits} phone edits {edited:.2f} s ({edited / args.edits * 1000:.0f} ms each)"
    )


if __name__ == "__main__":
    main()

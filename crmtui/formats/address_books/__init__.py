"""Address books' CSV exports (Google Contacts, Outlook, Thunderbird): every phone, email
and address of a row.

Each writes one person a row over many typed columns. Google numbers them ("E-mail 2 -
Label", "Phone 1 - Value"; values of one label joined by " ::: ", the primary marked
"* "), Outlook and Thunderbird name them ("Business Phone 2", "Home Street", "E-mail 3
Address"; a German Outlook in German). A column-to-field mapping would keep one phone
and one email of them; these modules read them as the items a vCard gives, so a person
keeps every number, address and email. What they do not read is kept on the contact
(`extra`), as for any CSV, and a value they cannot read for sure is kept as written and
noted for the dry run.

- `layout`: which layout a file is, the columns each reads, its rows as records;
- `google`, `outlook`, `thunderbird`: one reader each;
- `person`: what a row says, as fields, items and kept values.
"""

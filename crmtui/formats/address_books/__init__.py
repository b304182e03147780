"""Google Contacts and Outlook CSV exports: every phone, email and address of a row.

Both write one person a row over many typed columns. Google numbers them
("E-mail 2 - Label", "Phone 1 - Value"; values of one label joined by " ::: ", the
primary marked "* "), Outlook names them ("Business Phone 2", "Home Street",
"E-mail 3 Address"). A column-to-field mapping would keep one phone and one email
of them; this module reads them as the items a vCard gives (`csv_import._card_items`),
so a person keeps every number, address and email. What it does not read is kept on
the contact (`extra`), as for any CSV, and a value it cannot read (a birthday without
a year, a date that could be two days) is kept as written and noted for the dry run.
"""

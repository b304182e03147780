"""Files in and out: CSV import and its profiles and checks, vCard, JSONL, iCalendar, CSV exports."""

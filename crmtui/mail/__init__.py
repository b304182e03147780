"""Mail in and out: maildir scans, templates, and the transports that send the outbox."""

"""The follow-up services: ticklers, plans, activities, the mail log, outbox and notices."""

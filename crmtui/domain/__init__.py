"""Pure values and rules, no database: money, dates and periods, text folding, validation, ids, clocks."""

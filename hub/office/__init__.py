"""The office's desk (政务公开办): working days, deadlines, overdue lists, urges (督办), inspection.

Everything here reads what the rest of the hub already records (catalog,
versions, the delivery ledger, the audit log) and turns it into work: what is
due, what is late, who was pressed and whether they answered, and how the
county would fare before an inspector looks.
"""

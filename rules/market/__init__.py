"""Market data: prospect lists normalised and matched to CRM accounts, and whitespace.

Pure like the rest of ``rules``: plain records in, matches and figures out (no files, no
database, no CRM). Reading the files and storing sources live in ``territory.sync``.
"""

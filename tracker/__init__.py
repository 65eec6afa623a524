"""tracker: the OZG service-design backlog and maturity tracker.

Features, lowest layer first; each imports only from lower ones (`queries`, `schemas`,
`models`, and `actions` except into reports):

- access: users, ARS-scoped roles, tokens, sessions, guards, audit (no feature)
- catalog, regions: the OZG catalogue with LeiKa; Länder to Gemeinden (access)
- research: studies, pseudonymous participants, observations, findings, recommendations,
  KPIs, the redactor, consent withdrawal and retention (catalog, regions, access)
- maturity: models, assessments and review, applicability, the pair levels (`pairs`)
- demands: demand catalogues (the Dresdner Forderungen), Maßnahmen, uptake, milestones, links,
  the append-only event history
- reports: every roll-up over the pair levels, routes and pages (reads only)

Shared modules (db, errors, fields, listing, …) import no feature; app.py, cli.py and models.py
are the edge.
"""

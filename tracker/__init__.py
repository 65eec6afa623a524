"""tracker: the OZG service-design backlog and maturity tracker.

Features, lowest layer first; each imports only from lower ones (`queries`, `schemas`,
`models`, and `actions` except into reports):

- access: users, ARS-scoped roles, tokens, sessions, guards, audit (no feature)
- jobs: the background job table and its workers (access)
- webhooks: subscriptions, the outbox (`actions.emit`, called by any feature's actions in
  their transaction), signed deliveries (access, jobs)
- catalog, regions: the OZG catalogue with LeiKa; Länder to Gemeinden (access)
- research: studies, pseudonymous participants, observations, findings, recommendations,
  KPIs, the redactor, consent withdrawal and retention (catalog, regions, access)
- maturity: models, assessments and review, applicability, the pair levels (`pairs`)
- demands: demand catalogues (the Dresdner Forderungen), Maßnahmen, uptake, milestones, links,
  the append-only event history
- probes: link probes of the URLs that assessments cite; flags, never levels (maturity)
- reports: every roll-up over the pair levels, routes and pages (reads only)

Shared modules (db, errors, fields, listing, outbound, …) import no feature; app.py, cli.py,
models.py and tasks.py are the edge.
"""

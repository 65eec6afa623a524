"""Demands: the Dresdner Forderungen and other demand catalogues as an actionable backlog."""

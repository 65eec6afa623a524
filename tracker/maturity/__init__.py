"""Maturity per Gemeinde × Leistung on two dimensions: online access (OZG-Reifegradmodell) and
back-office automation (B0-B6). Models are data; assessments are append-only."""

"""Dashboards and comparison reports; reads from every feature's queries, never writes."""

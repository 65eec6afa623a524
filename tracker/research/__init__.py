"""User research: studies, participants, observations, findings, recommendations, KPIs."""

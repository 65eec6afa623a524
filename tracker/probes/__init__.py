"""Link probes of the online services' URLs (assessments' evidence, WSP NRW portal links, PVOG
URLs). Imports catalog, regions, maturity (queries, models), access."""

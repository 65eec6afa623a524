"""Users, roles scoped by ARS prefix, API tokens, browser sessions and the audit log.

Imports no feature: a role's scope is an ARS prefix, audit rows name their subject by table and key.
"""

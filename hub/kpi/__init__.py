"""KPIs: the metrics engine (definitions, counting bases, compute into ``kpi_fact``) and KPI
management on top of it (targets and their decomposition, scorecards, alerts, guardrails).
"""

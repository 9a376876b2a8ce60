"""Programme evaluation: questionnaires (programme.yaml), session summaries gathered into DuckDB (Parquet to
exchange, PostgreSQL to centralise), and the programme report. See docs/evaluation.md.

Modules: definition (programme.yaml), instruments (item kinds, SSQ), summary (a session's rows), tables, store
(DuckDB + Parquet), collect, central (PostgreSQL), figures (SQL), stats, report (HTML + CSV), cli.
"""

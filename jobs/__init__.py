"""Background jobs run by RQ workers: plain functions that take ids and open their own database session.

All ``rq`` imports live in :mod:`jobs.queue`; the job bodies are in :mod:`jobs.sync`.
"""

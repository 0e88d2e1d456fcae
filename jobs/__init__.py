"""RQ wiring only: queues and enqueueing (:mod:`jobs.queue`, every ``rq`` import), the cron configuration
(:mod:`jobs.cron_config`) and thin job functions taking ids (:mod:`jobs.sync`). The sync itself lives in
:mod:`wizard.sync.runner`.
"""

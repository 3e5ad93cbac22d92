"""Background jobs: huey delivers, the ``analysis_job`` row decides.

The queue (SqliteHuey in the data dir, or Redis) only carries job ids. Each job row holds the
state (queued, running, succeeded, failed), progress, attempts, the error and a lease that the
running worker renews; a reaper re-queues jobs whose lease expired. Delivery is therefore at
least once, and everything a job writes is idempotent.
"""

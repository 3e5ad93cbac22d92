"""Progress over time: an athlete's trends across clips and weeks, and the coach's dashboard.

Reads the rows of clips (fault and metric rows of fit analyses), training (plans, session
logs, flags) and coaching (the roster); writes nothing."""

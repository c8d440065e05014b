"""Execution: what runs a job's or an endpoint's container as local processes. A runner sees
only its ``RunnerContext`` (clients, files, clock, job slots) and its job's narrow handle
(``RunningJob``: the job's document, its stop signal, where to report); never the backend or
another resource, so nothing here imports ``..resources`` or ``..backend``."""

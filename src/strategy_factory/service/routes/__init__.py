"""One router per resource: evolve, runs, promoted, jobs (and workers), features, system,
plus the dashboard pages and the API docs page."""

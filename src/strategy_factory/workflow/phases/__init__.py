"""The built-in phase types: parameter discovery, regime analysis, ensemble optimization,
validation. Each is a ``run(context) -> summary`` function of a :class:`PhaseContext`."""

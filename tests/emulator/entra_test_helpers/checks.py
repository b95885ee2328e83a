"""The expectations of a scenario driver (a runme.sh's Python), reported one by one."""


class Checks:
    """Collects failed expectations so one run reports all of them, then fails."""

    def __init__(self):
        self.failures = []

    def expect(self, condition, description):
        """Record ``description`` as failed when ``condition`` is false."""
        print("%s %s" % ("ok  " if condition else "FAIL", description), flush=True)
        if not condition:
            self.failures.append(description)

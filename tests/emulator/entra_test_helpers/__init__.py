"""Helpers that more than one test suite needs (integration targets, the AWX and benchmark suites): one secret
scanner, the reading of ansible-inventory's output, and the collector of a driver's expectations. Installed with the
emulator (tests/emulator/pyproject.toml), so a target running from ansible-test's staged copy imports it as the
pytest suites do."""

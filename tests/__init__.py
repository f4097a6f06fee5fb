"""The test suite (a package, so that tests import shared helpers as ``tests.*``).

PYTEST_DONT_REWRITE: the sdist ships the tests, so an editable install's metadata lists
this package among the plugin's files, and every pytest run inside a test (pytester)
would mark it for assertion rewriting after the suite imported it and warn about it.
This package module has no assertions; the test modules are rewritten as usual.
"""

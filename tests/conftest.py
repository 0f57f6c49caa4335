"""Shared pytest configuration: plugins that provide the suite's fixtures."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.upstream",
    "tests.fixtures.app",
    "tests.fixtures.processes",
    "tests.fixtures.models",
    "tests.fixtures.tools",
    "tests.fixtures.bad_input",
    "tests.fixtures.auth",
    "tests.fixtures.browser",
    "tests.fixtures.graphql",
]

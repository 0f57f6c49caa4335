"""Every setting the service reads is documented where users look for it."""

from __future__ import annotations

import msgspec
import pytest

from api.settings import Settings
from tests.fixtures.upstream import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text()
NAMES = sorted(
    name.upper()
    for group in msgspec.structs.fields(Settings)
    for name in group.type.__struct_fields__
)


@pytest.mark.parametrize("name", NAMES)
def test_setting_is_in_the_readme_table_and_env_example(name: str) -> None:
    assert f"| `{name}` |" in README
    assert f"# {name}=" in ENV_EXAMPLE

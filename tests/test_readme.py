"""The README's Quick start is what CI runs, and its examples use real options."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in _shell_blocks(quick_start)]
    assert len(commands) == 2, "the Quick start has exactly two set-up commands"
    ci_lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_lines == [commands[1]]
    assert "examples/deployment.yml" in commands[0]


def test_readme_options_exist() -> None:
    from remediate.cli.main import run

    readme = (ROOT / "README.md").read_text()
    options = set(re.findall(r"k8sfix (--[a-z-]+)", readme))
    assert {"--diff", "--write", "--explain", "--list-fixers", "--format"} <= options
    import contextlib
    import io

    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text):
        assert run(["--help"]) == 0
    for option in options:
        assert option in help_text.getvalue(), option


def test_readme_config_example_is_a_valid_config(tmp_path) -> None:
    from remediate.run.config import load

    readme = (ROOT / "README.md").read_text()
    (example,) = [
        block for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL) if "fixers:" in block
    ]
    (tmp_path / ".k8sfix.yaml").write_text(example)
    settings = load(tmp_path / ".k8sfix.yaml")
    assert settings.enabled == ("image-pull-policy",)
    assert settings.options["network-policy"].template == "deny-all"
    assert settings.options["container-resources"].overrides[0]["image"] == "postgres:*"

"""The image installs our wheel only: two stages, no source, no compilers, not root.

Checked statically: there is no Docker engine on the machines that run the tests.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPILERS = {"gcc", "g++", "clang", "make", "build-essential", "cc", "cpp"}
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@dataclass
class Stage:
    """One `FROM` and the instructions under it, as (KEYWORD, argument text)."""

    base: str
    name: str | None
    steps: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[list[str]]:
        return [shlex.split(rest) for kw, rest in self.steps if kw == keyword]

    def raw(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.steps if kw == keyword]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile: comments dropped, `\\` continuations joined."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\s*\n", " ", "\n".join(lines))
    stages: list[Stage] = []
    for line in filter(None, (ln.strip() for ln in joined.splitlines())):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            tokens = rest.split()
            name = tokens[2] if len(tokens) > 2 and tokens[1].upper() == "AS" else None
            stages.append(Stage(tokens[0], name))
        elif stages:
            stages[-1].steps.append((keyword.upper(), rest.strip()))
    return stages


def _from_stage(tokens: list[str]) -> str | None:
    flag = next((t for t in tokens if t.startswith("--from=")), None)
    return flag.removeprefix("--from=") if flag else None


def _pip_installs(stage: Stage) -> list[list[str]]:
    """The tokens of each `pip install …` command in the stage's RUN lines."""
    found = []
    for tokens in stage.args("RUN"):
        command = " ".join(tokens)
        for part in re.split(r"&&|;|\|\|", command):
            words = part.split()
            for i in range(len(words) - 1):
                if words[i].endswith("pip") and words[i + 1] == "install":
                    found.append(words[i + 2 :])
    return found


def package_roots() -> set[str]:
    """Top-level folders the wheel is made of, per pyproject (mapped ones included)."""
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = tool.get("package-dir", {})
    return {
        mapped[p].split("/")[0] if p in mapped else p.split(".")[0]
        for p in tool["packages"]
    }


def image_problems(text: str, roots: set[str]) -> list[str]:
    """Why this Dockerfile does not install only our built wheel (none = fine)."""
    stages = parse(text)
    if len(stages) < 2:
        return ["one stage only: the build must happen in a stage of its own"]
    build, final = stages[:-1], stages[-1]
    names = {s.name for s in build if s.name}
    problems = []
    copied = {t for s in build for tokens in s.args("COPY") for t in tokens[:-1]}
    if missing := (roots | {"pyproject.toml", "README.md"}) - copied:
        problems.append(f"the build stage does not copy {sorted(missing)}")
    from_build = []
    for tokens in final.args("COPY") + final.args("ADD"):
        source = _from_stage(tokens)
        if source not in names:
            problems.append(f"the final stage copies {tokens[:-1]} from the context")
        else:
            from_build.append(tokens[-1].rstrip("/"))
    installs = [t for s in stages for t in _pip_installs(s)]
    if any(t.startswith(("-e", "--editable")) for i in installs for t in i):
        problems.append("an editable install (-e)")
    wheels = [
        t
        for i in _pip_installs(final)
        for t in i
        if t.endswith(".whl") and any(t.startswith(d + "/") for d in from_build)
    ]
    if not wheels:
        problems.append("the final stage installs no .whl copied from the build stage")
    if "slim" not in final.base and "alpine" not in final.base:
        problems.append(f"final base {final.base} ships a compiler; use a -slim image")
    run_words = {w for tokens in final.args("RUN") for w in tokens}
    if compilers := COMPILERS & run_words:
        problems.append(f"the final stage installs {sorted(compilers)}")
    users = final.args("USER")
    if not users or users[-1][0] in ROOT_USERS:
        problems.append("the final stage runs as root")
    # Exec form, so signals reach engage-sync itself rather than a shell.
    entrypoints = final.raw("ENTRYPOINT")
    if not entrypoints or entrypoints[-1] != '["engage-sync"]':
        problems.append(f'entrypoint is {entrypoints}, not ["engage-sync"]')
    return problems


def test_dockerfile_installs_only_the_built_wheel_as_a_non_root_user() -> None:
    assert image_problems(DOCKERFILE.read_text(encoding="utf-8"), package_roots()) == []


def test_package_roots_are_the_source_folders_and_schemas() -> None:
    roots = {
        "engage_sync", "streams", "connectors", "domain", "ground", "sandbox", "schemas"
    }
    assert package_roots() == roots


# The image as it was before the wheel: one stage, source copied, editable install.
EDITABLE = """\
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engage_sync ./engage_sync
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 engage
USER 10001
ENTRYPOINT ["engage-sync"]
"""
GOOD = DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EDITABLE, "one stage only"),
        (EDITABLE.replace("FROM", "FROM python:3.11 AS build\nFROM", 1), "editable"),
        (GOOD.replace("COPY schemas ./schemas\n", ""), "does not copy ['schemas']"),
        (GOOD.replace("USER 10001", "USER root"), "runs as root"),
        (GOOD.replace("USER 10001\n", ""), "runs as root"),
        (GOOD + "COPY engage_sync /app/engage_sync\n", "from the context"),
        (GOOD.replace("/wheels/engage_sync-*.whl", "engage-sync"), "no .whl"),
        (
            GOOD.replace("RUN pip install", "RUN apt-get install gcc && pip install"),
            "installs ['gcc']",
        ),
        (GOOD.replace("-slim\nENV", "\nENV"), "ships a compiler"),
        (GOOD.replace('["engage-sync"]', '["python"]'), 'not ["engage-sync"]'),
    ],
)
def test_image_checker_catches_a_departure(text: str, expected: str) -> None:
    assert any(expected in p for p in image_problems(text, package_roots()))

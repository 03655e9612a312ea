"""Lint the GitHub workflows beyond their schema: what actionlint would catch, offline.

``make lint-workflows`` first validates each file against the workflow JSON schema
(check-jsonschema's vendored copy), then runs this script, which checks what a schema
cannot: ``needs`` and ``steps.<id>`` name jobs and steps that exist, every ``uses:`` is
pinned to a ref, every ``run:`` script parses in bash, a Pages deployment has the
permissions and artifact it needs, and the two workflows run the README's commands
(``.ci/run`` / ``make test`` on pushes and pull requests; ``make book`` publishing the
Makefile's ``BOOK_HTML``). Prints one line per problem and exits 1 if there is any.
(actionlint's binary is fetched from GitHub at install time, which this project's
machines cannot reach; where it is on the PATH, the Makefile runs it too.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _on(doc: dict) -> dict:
    on = doc.get("on", doc.get(True))  # PyYAML reads the bare key `on` as True
    if isinstance(on, str):
        return {on: None}
    return {k: None for k in on} if isinstance(on, list) else dict(on or {})


def _uses(job: dict) -> list[str]:
    return [s["uses"] for s in job.get("steps", []) if "uses" in s]


def lint(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text())
    name, jobs, problems = path.name, doc.get("jobs", {}), []
    say = problems.append
    for job_id, job in jobs.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        for n in needs:
            if n not in jobs:
                say(f"{name}: job {job_id!r} needs {n!r}, which is not a job here ({', '.join(jobs)})")
        step_ids = {s["id"] for s in job.get("steps", []) if "id" in s}
        for expr in EXPR.findall(yaml.safe_dump(job)):
            for ref in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)", expr):
                if ref not in step_ids:
                    say(f"{name}: job {job_id!r} refers to steps.{ref}, but no step has id {ref!r}")
            for ref in re.findall(r"\bneeds\.([A-Za-z0-9_-]+)", expr):
                if ref not in needs:
                    say(f"{name}: job {job_id!r} refers to needs.{ref} without `needs: {ref}`")
        for i, step in enumerate(job.get("steps", [])):
            where = f"{name}: job {job_id!r}, step {step.get('name') or step.get('id') or i + 1}"
            uses = step.get("uses")
            pinned = re.fullmatch(r"[\w.-]+/[\w./-]+@[\w.-]+", uses or "")
            if uses and not uses.startswith(("./", "docker://")) and not pinned:
                say(f"{where}: `uses: {uses}` must be owner/repo@ref (pin a tag or a commit)")
            if "run" in step:
                script = EXPR.sub("PLACEHOLDER", step["run"])
                check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
                if check.returncode:
                    say(f"{where}: its run script does not parse in bash: {check.stderr.strip()}")
        if any(u.startswith("actions/deploy-pages@") for u in _uses(job)):
            perms = job.get("permissions", doc.get("permissions", {})) or {}
            for perm in ("pages", "id-token"):
                if perms.get(perm) != "write":
                    say(f"{name}: job {job_id!r} deploys Pages without `permissions: {perm}: write`")
            env = job.get("environment", {})
            if (env.get("name") if isinstance(env, dict) else env) != "github-pages":
                say(f"{name}: job {job_id!r} deploys Pages outside the `github-pages` environment")
            if not any(u.startswith("actions/upload-pages-artifact@") for n in needs + [job_id]
                       for u in _uses(jobs.get(n, {}))):
                say(f"{name}: job {job_id!r} deploys Pages, but neither it nor a job it needs uploads "
                    "them with actions/upload-pages-artifact")
    return problems


def project_rules(docs: dict[str, dict]) -> list[str]:
    """The workflows run the README's commands."""
    problems = []
    runs = {n: " ".join(s.get("run", "") for j in d.get("jobs", {}).values() for s in j.get("steps", []))
            for n, d in docs.items()}
    tests = [n for n, r in runs.items() if re.search(r"(\.ci/run|make test)\b", r)]
    if not tests:
        problems.append("no workflow runs the README's test command (`make test`, or `.ci/run`)")
    for n in tests:
        if not {"push", "pull_request"} <= set(_on(docs[n])):
            problems.append(f"{n}: runs the tests but not on both push and pull_request")
    book = [n for n, r in runs.items() if re.search(r"\bmake book\b", r)]
    if not book:
        problems.append("no workflow builds the book with `make book`")
    html = re.search(r"^BOOK_HTML \?= (\S+)", (ROOT / "Makefile").read_text(), re.M)
    for n in book:
        paths = [s.get("with", {}).get("path") for j in docs[n]["jobs"].values() for s in j.get("steps", [])
                 if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
        if html and paths != [html.group(1)]:
            problems.append(f"{n}: publishes {paths}, but `make book` writes {html.group(1)} (Makefile BOOK_HTML)")
        branches = (_on(docs[n]).get("push") or {}).get("branches", [])
        if branches != ["main"]:
            problems.append(f"{n}: should publish from pushes to main only, got branches {branches}")
    return problems


def main(paths: list[str]) -> int:
    files = [Path(p) for p in paths] or sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    docs = {f.name: yaml.safe_load(f.read_text()) for f in files}
    problems = [p for f in files for p in lint(f)] + project_rules(docs)
    for p in problems:
        print(f"lint-workflows: {p}")
    if not problems:
        print(f"lint-workflows: {len(files)} workflows ok ({', '.join(docs)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

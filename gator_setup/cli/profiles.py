"""`gator profiles`: the profiles (tested stacks) gator knows, for --profile NAME."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from gator_setup.cli.common import guarded

PROFILES_EPILOG = """Examples:

\b
  gator profiles                          name, platform and what each stack is
  gator doctor --profile gator-rocm5.7    check this machine against one
  gator fix --profile cpu                 print the commands that install one
"""


@guarded
def profiles(
    json_: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List the profiles: tested stacks (pip constraints plus the platform they expect)."""
    from gator_setup.knowledge.profiles import available_profiles, parse_profile

    rows = []
    for name, path in sorted(available_profiles().items()):
        p = parse_profile(path)
        torch = p.constraint("torch")
        rows.append(
            {
                "name": name,
                "platform": p.platform,
                "torch": str(torch.specifier) if torch is not None else None,
                "description": p.description,
                "file": str(path),
            }
        )
    if json_:
        sys.stdout.write(json.dumps({"schema_version": 1, "profiles": rows}, indent=2) + "\n")
        return
    if not rows:
        print("gator: no profiles found (no constraints/ folder next to gator)", file=sys.stderr)
        raise typer.Exit(2)
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        sys.stdout.write(f"{r['name']:<{width}}  {r['platform']:<6}  {r['description']}\n")
    print("use: gator doctor --profile NAME, gator fix --profile NAME", file=sys.stderr)

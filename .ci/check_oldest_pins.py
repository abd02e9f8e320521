"""Fail unless .ci/oldest-constraints.txt pins exactly the lower bounds in pyproject.toml.

Every requirement with a lower bound (``>=X`` or ``==X``) in ``[project].dependencies``
and the ``test`` extra must be pinned to X (1.26 and 1.26.0 are the same version), and
nothing else may be pinned: the oldest-versions run must test what pyproject.toml claims.
"""

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

root = Path(__file__).resolve().parent.parent
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
lower = {}
for text in project["dependencies"] + project["optional-dependencies"]["test"]:
    req = Requirement(text)
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==")]
    if not bounds:
        continue
    names = [req.name] + (["distributed"] if canonicalize_name(req.name) == "dask" and
                          "distributed" in req.extras else [])
    for name in names:
        name = canonicalize_name(name)
        if name in lower and lower[name] != max(bounds):
            sys.exit(f"pyproject.toml gives {name} two lower bounds: {lower[name]}, {max(bounds)}")
        lower[name] = max(bounds)

pinned = {}
for line in (root / ".ci" / "oldest-constraints.txt").read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line)
        if not m:
            sys.exit(f".ci/oldest-constraints.txt: not a name==version pin: {line!r}")
        pinned[canonicalize_name(m[1])] = Version(m[2])

errors = [f"{n}: pyproject.toml's lower bound is {v}, the pin is {pinned.get(n)}"
          for n, v in sorted(lower.items()) if pinned.get(n) != v]
errors += [f"{n}=={v} is pinned but has no lower bound in pyproject.toml"
           for n, v in sorted(pinned.items()) if n not in lower]
if errors:
    sys.exit(".ci/oldest-constraints.txt does not match pyproject.toml:\n  " + "\n  ".join(errors))
print(f"oldest pins match pyproject.toml's {len(lower)} lower bounds")

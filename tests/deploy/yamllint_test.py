#!/usr/bin/env python3
"""yamllint (with the committed .yamllint) over deploy/ and docker-compose.yml."""

import subprocess
import sys

import deploy_testlib as lib


def main() -> int:
    yamllint = lib.find_tool("yamllint")
    if yamllint is None:
        print("SKIP: yamllint not found (scripts/install_deps.sh installs it)")
        return 77
    done = subprocess.run([yamllint, "--strict", "-c", str(lib.ROOT / ".yamllint"),
                           "deploy", "docker-compose.yml"], cwd=lib.ROOT, capture_output=True,
                          text=True, timeout=120)
    print(done.stdout + done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the source tree against docs/architecture.md's "Folder map" (one source for the rule).

Fails (exit 1, naming file, line and include) when
  * an engine/ folder has no row in the table, or a row names a folder that does not exist;
  * a file in engine/<folder>/ includes engine/<other>/ that the row's "may include" column does
    not list ("every engine/ folder" allows all; "—" allows none);
  * a layer includes upward: kernels/ and scheduler/ include nothing of engine/, server/ or
    clients/; engine/ includes nothing of server/ or clients/.
Usage: check_layout.py [repo root]   (default: two folders above this file)
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), '..', '..'))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
FORBIDDEN_TOP = {'kernels': {'engine', 'server', 'clients', 'scheduler'},
                 'scheduler': {'engine', 'server', 'clients'},
                 'engine': {'server', 'clients'}}


def folder_map(doc_path):
    """{folder name: set of allowed engine folders or None for all}, from the doc's table."""
    text = open(doc_path, encoding='utf-8').read()
    section = text.split('## Folder map', 1)
    if len(section) != 2:
        sys.exit(f'{doc_path}: no "## Folder map" section')
    rows = {}
    for line in section[1].split('\n## ', 1)[0].splitlines():
        m = re.match(r'^\| `engine/([a-z_]+)/` \|.*\| ([^|]+) \|$', line)
        if not m:
            continue
        allowed = m.group(2).strip()
        if allowed.startswith('every engine/'):
            rows[m.group(1)] = None
        elif allowed == '—':
            rows[m.group(1)] = set()
        else:
            rows[m.group(1)] = {a.strip() for a in allowed.split(',')}
    if not rows:
        sys.exit(f'{doc_path}: the Folder map table has no engine/ rows')
    return rows


def sources(top):
    for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
        for name in sorted(names):
            if name.endswith(('.h', '.cc')):
                yield os.path.join(dirpath, name)


def main():
    errors = []
    rows = folder_map(os.path.join(ROOT, 'docs', 'architecture.md'))
    engine = os.path.join(ROOT, 'engine')
    folders = {d for d in os.listdir(engine) if os.path.isdir(os.path.join(engine, d))}
    for d in sorted(folders - rows.keys()):
        errors.append(f'engine/{d}/: no row in docs/architecture.md "Folder map"')
    for d in sorted(rows.keys() - folders):
        errors.append(f'docs/architecture.md "Folder map": engine/{d}/ does not exist')
    loose = sorted(n for n in os.listdir(engine) if n.endswith(('.h', '.cc')))
    for n in loose:
        errors.append(f'engine/{n}: a source file outside any concept folder')
    for d in sorted(rows.keys() & folders):
        for m_ in (rows[d] or set()) - folders:
            errors.append(f'docs/architecture.md "Folder map": engine/{d}/ may include unknown {m_}')
    for top in ('kernels', 'scheduler', 'engine'):
        for path in sources(top):
            rel = os.path.relpath(path, ROOT)
            parts = rel.split(os.sep)
            own = parts[1] if top == 'engine' and len(parts) > 2 else None
            for lineno, line in enumerate(open(path, encoding='utf-8'), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1).split('/')
                if len(inc) < 2:
                    continue
                if inc[0] in FORBIDDEN_TOP[top]:
                    errors.append(f'{rel}:{lineno}: {top}/ includes "{m.group(1)}" (upward)')
                if own and inc[0] == 'engine' and len(inc) > 2 and inc[1] != own:
                    allowed = rows.get(own, set())
                    if allowed is not None and inc[1] not in allowed:
                        errors.append(f'{rel}:{lineno}: engine/{own}/ includes "{m.group(1)}", '
                                      f'not in its "may include" ({", ".join(sorted(allowed)) or "—"})')
    for e in errors:
        print(e)
    print(f'check_layout: {len(rows)} folders, {len(errors)} problem(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())

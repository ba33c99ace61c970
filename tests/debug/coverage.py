#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Line and branch coverage of our modules from the gcov data of a run.

    tests/debug/coverage.py [--out DIR] [--tree TREE] [--gcov PROG] GCOV_DIR...

GCOV_DIR holds, for each object built with gcov counters, its notes file
(X.gcno, copied by tests/check-debug.sh --coverage after the build) and
its counters (X.gcda, saved by the guest from /sys/kernel/debug/gcov); an
object without counters (its module was never loaded) counts as never
executed.  Several GCOV_DIRs (runs of the same build: the same notes files)
add up.
Each pair is read with gcov's JSON output (gcov -b -c -j -t), the compiler's
own gcov by default.

A source file compiled into several objects (vhost_vdpa_dma.c is built into
vhost_vdpa.ko and into its KUnit module; an inline function of a header
into every object that calls it) is merged line by line: a line is
executable if one object has code on it, executed if one object ran it.
Branches are merged per line: when every object has the same number of
branch outcomes on the line, an outcome counts as taken if it was taken in
one of them; otherwise the object with the most outcomes taken on that line
stands for it.  "Taken" is gcov's "taken at least once".

Prints one row per source file of TREE (drivers/ and include/): lines
executed, branch outcomes taken, and the lines executed without the
counters of the KUnit objects (named *_test: code compiled into them, not
module code they call), then the test code itself.  With --out,
writes there DIR/<file>.gcov (the source annotated in gcov's format with the
merged counts: "#####" marks a line never executed, branch lines follow a
line with an outcome never taken), DIR/uncovered.txt (every run of
unexecuted lines, with its first line of source) and DIR/summary.txt (the
table).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys


def pick_gcov():
    """The gcov of the compiler that built the objects (gcc's major version)."""
    try:
        major = subprocess.run(['gcc', '-dumpversion'], capture_output=True,
                               text=True, check=True).stdout.strip().split('.')[0]
    except (OSError, subprocess.CalledProcessError):
        return 'gcov'
    return 'gcov-' + major if shutil.which('gcov-' + major) else 'gcov'


def read_object(gcov, gcno):
    """gcov's JSON document for one object (its .gcda, if any, next to it)."""
    res = subprocess.run([gcov, '-b', '-c', '-j', '-t', gcno],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit('coverage: %s failed on %s: %s' % (gcov, gcno, res.stderr.strip()))
    # Warnings (e.g. a source newer than the notes) go to stderr; keep them.
    for line in res.stderr.splitlines():
        if 'cannot open data file' not in line:
            print('coverage: %s: %s' % (os.path.basename(gcno), line), file=sys.stderr)
    return json.loads(res.stdout)


class Line:
    """One source line as seen by every object that has code on it."""

    def __init__(self):
        self.count = {}		# object -> executions
        self.branches = {}	# object -> list of outcome counts

    def add(self, obj, count, branches):
        """Add one run of obj (the same notes: the same outcomes)."""
        if obj not in self.count:
            self.count[obj] = count
            self.branches[obj] = branches
            return
        self.count[obj] += count
        self.branches[obj] = [a + b for a, b in zip(self.branches[obj], branches)]

    def merged(self, objs):
        """(executable, count, outcome counts) over the objects objs."""
        mine = [o for o in self.count if o in objs]
        if not mine:
            return False, 0, []
        count = sum(self.count[o] for o in mine)
        vecs = [self.branches[o] for o in mine if self.branches[o]]
        if not vecs:
            return True, count, []
        if all(len(v) == len(vecs[0]) for v in vecs):
            return True, count, [sum(c) for c in zip(*vecs)]
        best = max(vecs, key=lambda v: (sum(1 for c in v if c), len(v)))
        return True, count, best


def read_run(gcov, gcov_dir, tree):
    """{object: {(source relative to tree, line number): [count, outcomes]}}
    for one run directory, and the objects without counters there."""
    objects = {}
    no_counters = set()
    for root, _, names in os.walk(gcov_dir):
        for name in sorted(names):
            if not name.endswith('.gcno'):
                continue
            gcno = os.path.join(root, name)
            obj = os.path.relpath(gcno, gcov_dir)[:-5]
            if not os.path.exists(gcno[:-5] + '.gcda'):
                no_counters.add(obj)
            doc = read_object(gcov, gcno)
            cwd = doc.get('current_working_directory', '')
            lines = objects.setdefault(obj, {})
            for f in doc['files']:
                path = os.path.normpath(os.path.join(cwd, f['file']))
                rel = os.path.relpath(path, tree)
                if rel.startswith('..'):
                    continue	# the kernel's headers
                for ln in f['lines']:
                    # A line with code in several functions of the object
                    # (an inline helper): one entry per function.
                    entry = lines.setdefault((rel, ln['line_number']), [0, []])
                    entry[0] += ln['count']
                    entry[1].extend(b['count'] for b in ln['branches'])
    return objects, no_counters


def same_notes(dirs, obj):
    """True if every run directory that has obj has the same notes file."""
    notes = set()
    for d in dirs:
        gcno = os.path.join(d, obj + '.gcno')
        if os.path.exists(gcno):
            with open(gcno, 'rb') as f:
                notes.add(f.read())
    return len(notes) <= 1


def collect(gcov, gcov_dirs, tree):
    """{source path relative to tree: {line number: Line}}, the objects, and
    those of them that have no counters in any run.  An object without
    counters was never loaded: all its lines count as not executed."""
    files = {}
    objects = set()
    never_loaded = None
    for gcov_dir in gcov_dirs:
        run, no_counters = read_run(gcov, gcov_dir, tree)
        for obj, lines in run.items():
            if obj in objects and not same_notes(gcov_dirs, obj):
                sys.exit('coverage: %s was built differently in %s' % (obj, gcov_dir))
            objects.add(obj)
            for (rel, n), (count, outcomes) in lines.items():
                files.setdefault(rel, {}).setdefault(n, Line()).add(obj, count, outcomes)
        never_loaded = no_counters if never_loaded is None else never_loaded & no_counters
    return files, objects, sorted(never_loaded or ())


def is_test_object(obj):
    return obj.endswith('_test')


def stats(lines, objs):
    """(lines executed, executable lines, outcomes taken, outcomes)."""
    le = lt = bt = bn = 0
    for line in lines.values():
        executable, count, outcomes = line.merged(objs)
        if not executable:
            continue
        lt += 1
        le += count > 0
        bn += len(outcomes)
        bt += sum(1 for c in outcomes if c)
    return le, lt, bt, bn


def pct(a, b):
    return '%.1f%%' % (100.0 * a / b) if b else '-'


def row(width, name, le, lt, bt, bn, me=None):
    text = '%-*s  %6d/%-6d %6s  %6d/%-6d %6s' % (
        width, name, le, lt, pct(le, lt), bt, bn, pct(bt, bn))
    if me is not None:
        text += '  %6d %6s' % (me, pct(me, lt))
    return text


def table(files, objects):
    """The report, as a list of text lines."""
    module_objs = {o for o in objects if not is_test_object(o)}
    ours, tests = [], []
    for rel in sorted(files):
        lines = files[rel]
        if not any(line.merged(objects)[0] for line in lines.values()):
            continue
        owners = {o for line in lines.values() for o in line.count}
        (tests if all(is_test_object(o) for o in owners) else ours).append(rel)

    width = max([len(r) for r in ours + tests] + [20])
    head = '%-*s  %-20s  %-20s  %s' % (width, 'file', 'lines executed',
                                       'branches taken', 'w/o KUnit objects')
    out = [head, '-' * len(head)]
    total = [0, 0, 0, 0, 0]
    for rel in ours:
        le, lt, bt, bn = stats(files[rel], objects)
        me = stats(files[rel], module_objs)[0]
        for i, v in enumerate((le, lt, bt, bn, me)):
            total[i] += v
        out.append(row(width, rel, le, lt, bt, bn, me))
    out.append('-' * len(head))
    out.append(row(width, 'total', *total))
    if tests:
        out += ['', 'KUnit test code (not in the total):']
        out += [row(width, rel, *stats(files[rel], objects)) for rel in tests]
    return out


def annotate(files, objects, tree, outdir):
    """Write DIR/<file>.gcov for every file, and DIR/uncovered.txt."""
    uncovered = []
    for rel in sorted(files):
        lines = files[rel]
        try:
            with open(os.path.join(tree, rel), errors='replace') as f:
                source = f.read().splitlines()
        except OSError:
            source = []
        dst = os.path.join(outdir, rel + '.gcov')
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        run = None
        with open(dst, 'w') as f:
            f.write('%9s:%5d:Source:%s\n' % ('-', 0, rel))
            for n in range(1, max(len(source), max(lines, default=0)) + 1):
                text = source[n - 1] if n <= len(source) else ''
                executable, count, outcomes = (lines[n].merged(objects)
                                               if n in lines else (False, 0, []))
                if not executable:
                    mark = '-'
                elif count:
                    mark = str(count)
                else:
                    mark = '#####'
                f.write('%9s:%5d:%s\n' % (mark, n, text))
                if executable and outcomes and not all(outcomes):
                    for i, c in enumerate(outcomes):
                        what = 'taken %d' % c if count else 'never executed'
                        f.write('branch %2d %s\n' % (i, what))
                # Runs of unexecuted lines: non-executable lines continue a
                # run, an executed line or the end of a function ends it.
                if executable and not count:
                    if run is None:
                        run = [n, n, text.strip()]
                    run[1] = n
                elif (executable or text.startswith('}')) and run is not None:
                    uncovered.append('%s:%d-%d: %s' % (rel, run[0], run[1], run[2])
                                     if run[1] > run[0] else
                                     '%s:%d: %s' % (rel, run[0], run[2]))
                    run = None
        if run is not None:
            uncovered.append('%s:%d-%d: %s' % (rel, run[0], run[1], run[2]))
    with open(os.path.join(outdir, 'uncovered.txt'), 'w') as f:
        f.write('\n'.join(uncovered) + '\n')


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('gcov_dir', nargs='+',
                    help='the .gcno and .gcda files (RUN/gcov); several runs of '
                    'the same build add up')
    ap.add_argument('--tree', default=os.path.normpath(os.path.join(here, '..', '..')),
                    help='the source tree the objects were built from')
    ap.add_argument('--out', help='write annotated sources and the table here')
    ap.add_argument('--gcov', default=os.environ.get('GCOV') or pick_gcov(),
                    help='the gcov program (default: the compiler\'s)')
    args = ap.parse_args()

    files, objects, never_loaded = collect(args.gcov, args.gcov_dir,
                                           os.path.realpath(args.tree))
    if len(never_loaded) == len(objects):
        sys.exit('coverage: no .gcda file next to a .gcno under %s' % ' '.join(args.gcov_dir))
    out = table(files, objects)
    if never_loaded:
        out += ['', 'Never loaded (no counters): ' + ' '.join(sorted(never_loaded))]
    print('\n'.join(out))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        annotate(files, objects, os.path.realpath(args.tree), args.out)
        with open(os.path.join(args.out, 'summary.txt'), 'w') as f:
            f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()

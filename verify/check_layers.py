#!/usr/bin/env python3
"""check_layers.py -- every include in src/ runs down the layers, never up,
and no two modules include each other.

src/ is in folders by layer (src/README.md), each allowed to use only the
layers before it in LAYERS; src/fmd.h, the header that gathers the library,
sits above the library's layers and below the command. A file may include a
header of its own layer or of a layer below, always by its folder
("paths/gmm.h"), so that every include shows its layer. A module is a .c file
with its .h (a *_typed.c/.h file belongs to its module); two modules whose
files include each other, directly or around a longer loop, are a cycle even
within one layer. The chapter programs (chapters/*/) are checked for cycles
between their own files too.

    python3 verify/check_layers.py [ROOT]     check the tree at ROOT (default .)
    python3 verify/check_layers.py --selftest [-v]  plant an upward include, a cycle
                                              and an include without its folder
                                              in a copy of the tree, and check
                                              that each is caught

Exit 0 if the tree keeps the rules, 1 with one line per broken rule (the
file, the include, and the two layers) if not.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Bottom to top; the same order as LAYERS in the Makefile and src/README.md.
LAYERS = ["base", "flows", "paths", "networks", "sde_view", "files", "fmd.h", "cli"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    """The layer of a path relative to src/: its folder, or fmd.h."""
    if rel == "fmd.h":
        return "fmd.h"
    top = rel.split("/", 1)[0]
    return top if top in LAYERS and "/" in rel else None


def module_of(path):
    base = re.sub(r"\.[ch]$", "", path)
    return re.sub(r"_typed$", "", base)


def find_cycles(graph):
    """Every cycle of the directed graph {node: set(nodes)}: one loop through
    each strongly connected component of more than one node, as a list."""
    index, low, on, stack, comps = {}, {}, set(), [], []

    def connect(n):   # Tarjan's algorithm
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in sorted(graph.get(n, ())):
            if m not in index:
                connect(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            if len(comp) > 1:
                comps.append(set(comp))

    for n in sorted(graph):
        if n not in index:
            connect(n)
    cycles = []
    for comp in comps:   # walk inside the component back to where it started
        start = min(comp)
        path, seen = [start], {start}
        while True:
            nxt = sorted(m for m in graph[path[-1]] if m in comp)
            back = [m for m in nxt if m == start]
            if back:
                cycles.append(path + [start])
                break
            fresh = [m for m in nxt if m not in seen]
            m = fresh[0] if fresh else nxt[0]
            if m in seen:   # a loop not through start: report it from there
                cycles.append(path[path.index(m):] + [m])
                break
            path.append(m)
            seen.add(m)
    return cycles


def check(root):
    problems = []
    src = os.path.join(root, "src")
    files = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(dirpath, name), src))
    graph = {}
    for rel in sorted(files):
        own = layer_of(rel)
        where = "src/" + rel
        if own is None:
            problems.append(f"{where}: not in a layer's folder ({', '.join(LAYERS[:-2] + LAYERS[-1:])}) "
                            "nor src/fmd.h: move it into the folder of its layer")
            continue
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        for lineno, m in ((text.count("\n", 0, m.start()) + 1, m) for m in INCLUDE.finditer(text)):
            inc = m.group(1)
            target = layer_of(inc)
            if target is None or not os.path.isfile(os.path.join(src, inc)):
                problems.append(f"{where}:{lineno}: #include \"{inc}\" does not name a header by its "
                                f"folder (e.g. \"paths/gmm.h\"), so its layer cannot be seen")
                continue
            if LAYERS.index(target) > LAYERS.index(own):
                problems.append(f"{where}:{lineno}: #include \"{inc}\" runs up a layer: {where} is in "
                                f"{own} (layer {LAYERS.index(own) + 1}), {inc} in {target} "
                                f"(layer {LAYERS.index(target) + 1}); a layer may use only those before it")
            a, b = module_of("src/" + rel), module_of("src/" + inc)
            if a != b:
                graph.setdefault(a, set()).add(b)
    for cycle in find_cycles(graph):
        problems.append("src: an include cycle between modules: " + " -> ".join(cycle) +
                        "; move what they share into a module both can include")
    # the chapter programs: their own files only (fmd.h is the library)
    chapters = os.path.join(root, "chapters")
    for ch in sorted(os.listdir(chapters)) if os.path.isdir(chapters) else []:
        d = os.path.join(chapters, ch)
        if not os.path.isdir(d):
            continue
        graph = {}
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            text = open(os.path.join(d, name), encoding="utf-8").read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                if os.path.isfile(os.path.join(d, inc)) and module_of(inc) != module_of(name):
                    graph.setdefault(f"chapters/{ch}/{module_of(name)}", set()).add(
                        f"chapters/{ch}/{module_of(inc)}")
        for cycle in find_cycles(graph):
            problems.append(f"chapters/{ch}: an include cycle between its files: " + " -> ".join(cycle))
    return problems, len(files)


def selftest(verbose):
    """Each planted fault must be reported, with the words that name it."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    plants = [
        ("src/base/status.c", '#include "paths/gmm.h"\n',
         ['src/base/status.c:1: #include "paths/gmm.h" runs up a layer', "in base (layer 1)",
          "in paths (layer 3)"]),
        ("src/networks/mlp.c", '#include "fmd.h"\n', ['#include "fmd.h" runs up a layer']),
        ("src/paths/lowrank.c", '#include "paths/gmm.h"\n',
         ["include cycle between modules", "src/paths/gmm -> src/paths/lowrank -> src/paths/gmm"]),
        ("src/flows/ode.c", '#include "rng.h"\n', ['#include "rng.h" does not name a header by its folder']),
        ("chapters/05-conditional-generation/images.c", '#include "main.c"\n',
         ["chapters/05-conditional-generation: an include cycle"]),
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path, line, expect in plants:
            copy = os.path.join(tmp, "tree")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(os.path.join(here, "src"), os.path.join(copy, "src"))
            shutil.copytree(os.path.join(here, "chapters"), os.path.join(copy, "chapters"),
                            ignore=shutil.ignore_patterns("*.png", "*.gmm", "*.md"))
            target = os.path.join(copy, path)
            text = open(target, encoding="utf-8").read()
            open(target, "w", encoding="utf-8").write(line + text)
            problems, _ = check(copy)
            report = "\n".join(problems)
            missing = [e for e in expect if e not in report]
            if not problems or missing:
                print(f"check_layers: SELFTEST FAILED: planting {line.strip()} in {path} was not caught"
                      + (f" (missing: {missing}; got: {report or 'nothing'})" if problems else ""))
                failed = 1
            elif verbose:
                print(f"check_layers: selftest: {line.strip()} planted in {path} is caught: {problems[0]}")
        # and the unplanted copy passes
        clean = os.path.join(tmp, "clean")
        shutil.copytree(os.path.join(here, "src"), os.path.join(clean, "src"))
        if check(clean)[0]:
            print("check_layers: SELFTEST FAILED: the clean copy does not pass")
            failed = 1
    if not failed:
        print(f"check_layers: selftest: all {len(plants)} planted faults caught (an upward include, "
              "fmd.h from the library, a cycle, an include without its folder, a cycle in a chapter; -v shows each)")
    return failed


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        sys.exit(selftest("-v" in sys.argv[2:]))
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    problems, n = check(root)
    for p in problems:
        print("check_layers: " + p)
    if problems:
        sys.exit(1)
    print(f"check_layers: the {n} files of src/ include only their own layer and those below "
          f"({' < '.join(LAYERS)}), with no cycles; nor do the chapters' files")


if __name__ == "__main__":
    main()

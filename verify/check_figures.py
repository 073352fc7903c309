#!/usr/bin/env python3
"""check_figures.py -- figures and links in the Markdown texts.

Fails (exit 1, naming each problem) unless
  1. every figure script figures/NAME.gp has its committed PNG(s), the
     files its `set output out."/X.png"` lines write, under figures/png/;
  2. every PNG under figures/png/ is shown by some chapter text
     (chapters/*/README.md) as an image, and every bench figure
     bench/results/*.png by bench/README.md, the performance page (a pixel grid
     NAME_grid.png is data, not a figure: some bench/*.gp must read it);
  3. every image and every relative link in every Markdown file of the
     repository resolves: the file exists, and a #fragment names a heading of
     the target Markdown file (GitHub's rule for heading identifiers).
Run from the repository root (make check does)."""
import glob
import os
import re
import sys

problems = []


def slug(heading):
    """GitHub's identifier for a heading: lower case, punctuation dropped
    (hyphens and underscores kept), spaces to hyphens."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


_anchors = {}


def anchors(md_path):
    """The heading identifiers of a Markdown file, computed once per file."""
    if md_path not in _anchors:
        _anchors[md_path] = _heading_ids(md_path)
    return _anchors[md_path]


def _heading_ids(md_path):
    seen, out = {}, set()
    in_code = False
    for line in open(md_path, encoding="utf-8"):
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"#{1,6} (.*)", line)
        if m:
            a = slug(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.add(a if n == 0 else "%s-%d" % (a, n))
    return out


def markdown_files():
    out = []
    for root, dirs, files in os.walk("."):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "build"]
        out += [os.path.join(root, f)[2:] for f in files if f.endswith(".md")]
    return sorted(out)


LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(md_path):
    """(is_image, target, line number) of every Markdown link outside code."""
    in_code = in_math = False
    for no, line in enumerate(open(md_path, encoding="utf-8"), 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if line.strip() == "$$":   # a display formula: TeX, not Markdown
            in_math = not in_math
            continue
        if in_code or in_math:
            continue
        line = re.sub(r"`[^`]*`", "", line)   # inline code is not a link
        line = re.sub(r"\$\$.*?\$\$", "", line)   # nor a one-line display formula
        for m in LINK.finditer(line):
            yield m.group(1) == "!", m.group(2), no


# 1. every script has its PNG
outputs = {}
for gp in sorted(glob.glob("figures/*.gp")):
    names = re.findall(r'set output out\s*\.\s*"/([^"]+\.png)"', open(gp, encoding="utf-8").read())
    if not names:
        problems.append("%s: writes no PNG (no `set output out.\"/NAME.png\"` line)" % gp)
    for n in names:
        outputs[n] = gp
        if not os.path.exists(os.path.join("figures/png", n)):
            problems.append("%s writes figures/png/%s, which is not committed (run make figures)" % (gp, n))
for png in sorted(glob.glob("figures/png/*.png")):
    if os.path.basename(png) not in outputs:
        problems.append("%s: no figure script writes it (stale? remove it)" % png)

# 2. every PNG is shown where it belongs; 3. every link resolves
shown = {}
for md in markdown_files():
    here = os.path.dirname(md)
    for is_image, target, no in links(md):
        if re.match(r"[a-z]+:", target) or target.startswith("#") and not is_image:
            if target.startswith("#") and target[1:] not in anchors(md):
                problems.append("%s:%d: link to #%s, no such heading in this file" % (md, no, target[1:]))
            continue
        path, _, frag = target.partition("#")
        resolved = os.path.normpath(os.path.join(here, path))
        if not os.path.exists(resolved):
            problems.append("%s:%d: %s %s does not resolve (%s does not exist)" %
                            (md, no, "image" if is_image else "link", target, resolved))
            continue
        if frag and resolved.endswith(".md") and frag not in anchors(resolved):
            problems.append("%s:%d: link %s: %s has no heading #%s" % (md, no, target, resolved, frag))
        if is_image:
            shown.setdefault(resolved, set()).add(md)
for png in sorted(glob.glob("figures/png/*.png")):
    if not any(m.startswith("chapters/") for m in shown.get(png, ())):
        problems.append("%s is not shown by any chapter text (chapters/*/README.md)" % png)
for png in sorted(glob.glob("bench/results/*.png")):
    if png.endswith("_grid.png"):   # pixels a figure script frames (e.g. the sampler panel): that script must read it
        if not any(os.path.basename(png) in open(gp, encoding="utf-8").read() for gp in glob.glob("bench/*.gp")):
            problems.append("%s: a pixel grid that no bench/*.gp reads" % png)
        continue
    if "bench/README.md" not in shown.get(png, ()):
        problems.append("%s is not shown in bench/README.md, the performance page" % png)

for p in problems:
    print("check_figures: " + p)
if problems:
    sys.exit(1)
print("check_figures: %d figure scripts, %d figures shown, every image and link in %d Markdown files resolves"
      % (len(glob.glob("figures/*.gp")), len(shown), len(markdown_files())))

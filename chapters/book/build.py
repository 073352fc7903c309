#!/usr/bin/env python3
"""build.py -- the chapters as a static site: `make book` runs it.

    python3 chapters/book/build.py OUT_DIR DATA_DIR

writes OUT_DIR/index.html (the course map, chapters/README.md), one page per
chapter (NN-slug.html, from chapters/NN-slug/README.md), a page per cited
source file with numbered, addressable lines (src/paths/marginal.c.html#L120), and
copies the figures. Pandoc (Debian's `pandoc`) converts each text, with the
formulas as MathML: no network and no JavaScript are needed to read it.
Each chapter page ends with the table of checks of its program's latest run
(DATA_DIR/chNN_checks.tsv, written by src/files/report.c), and every code
reference in backquotes -- `src/file.c:function`, `verify/test_x.c:suite/test`,
`figures/x.gp` -- becomes a link to the line that defines it.
Exits 1 if Pandoc fails or warns (a formula it could not convert, say)."""
import glob
import html
import os
import re
import shutil
import subprocess
import sys

OUT, DATA = sys.argv[1], sys.argv[2]
ROOT = os.getcwd()
CSS = """
body { font-family: "DejaVu Serif", Georgia, serif; max-width: 52em; margin: 2em auto; padding: 0 1em;
       line-height: 1.5; color: #1a1a1a; background: #fff; }
nav { font-family: "DejaVu Sans", sans-serif; font-size: 0.9em; border-bottom: 1px solid #ccc; padding-bottom: .5em; }
nav a { margin-right: 1em; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 0.88em; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
img { max-width: 100%; display: block; margin: 1em auto .3em auto; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .2em .5em; vertical-align: top; }
th { background: #f0f0f0; }
td code { overflow-wrap: anywhere; }   /* long test names wrap inside their cell */
td:nth-child(2) { min-width: 14em; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", monospace; }
td.ok { color: #176317; font-weight: bold; } td.FAIL { color: #b00; font-weight: bold; }
math[display="block"] { margin: .8em 0; font-size: 1.1em; }
.src { font-family: "DejaVu Sans Mono", monospace; font-size: 0.85em; white-space: pre; max-width: none; }
.src a.ln { color: #999; display: inline-block; width: 4em; text-align: right; margin-right: 1em; text-decoration: none; }
.src div:target { background: #fff3b0; }
"""

problems = []
sources = {}   # repository path -> set of lines to be addressable (all are)


_lines = {}


def source_lines(path):
    """A source file's lines, read once (chapters cite the same files often)."""
    if path not in _lines:
        _lines[path] = open(os.path.join(ROOT, path), encoding="utf-8", errors="replace").read().split("\n")
    return _lines[path]


def definition_line(path, name):
    """The line (1-based) defining `name` in `path`: a Criterion test for
    suite/test, else a function or type definition, else the first mention."""
    lines = source_lines(path)
    if "/" in name:
        suite, test = name.split("/", 1)
        pat = re.compile(r"(Test|ParameterizedTest)\((.*, *)?%s, *%s[,)]" % (re.escape(suite), re.escape(test)))
        for i, l in enumerate(lines, 1):
            if pat.search(l):
                return i
        return None
    word = re.compile(r"(^|[^A-Za-z0-9_])%s([^A-Za-z0-9_]|$)" % re.escape(name))
    define = re.compile(r"^[A-Za-z].*[^A-Za-z0-9_]%s\s*\(" % re.escape(name))
    for i, l in enumerate(lines, 1):   # a definition: starts at column 0, not a declaration
        if define.search(l) and not l.rstrip().endswith(";"):
            return i
    for i, l in enumerate(lines, 1):
        if re.search(r"\}\s*%s\s*;" % re.escape(name), l) or re.search(r"#define\s+%s\b" % re.escape(name), l):
            return i
    for i, l in enumerate(lines, 1):
        if word.search(l):
            return i
    return None


REF = re.compile(r"`((?:src|verify|chapters|figures|bench)/[A-Za-z0-9_./-]+)(?::([A-Za-z0-9_/]+))?`")


def link_refs(text, depth):
    """`path:name` in backquotes -> a Markdown link to the source page."""
    def repl(m):
        path, name = m.group(1), m.group(2)
        if not os.path.isfile(os.path.join(ROOT, path)) or path.endswith(".png"):
            return m.group(0)
        sources.setdefault(path, True)
        anchor = ""
        if name:
            line = definition_line(path, name)
            if line is None:
                problems.append("reference %s:%s: not found" % (path, name))
            else:
                anchor = "#L%d" % line
        return "[%s](%s%s.html%s)" % (m.group(0), depth, path, anchor)
    out, in_code = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            in_code = not in_code
        out.append(line if in_code else REF.sub(repl, line))
    return "\n".join(out)


def rewrite_links(text, here):
    """Repository-relative links of a chapter text -> the site's pages."""
    def img(m):
        alt, target = m.group(1), m.group(2)
        path = os.path.normpath(os.path.join(here, target))
        if path.startswith("figures/png/"):
            return "![%s](figures/%s)" % (alt, os.path.basename(path))
        if path.startswith("bench/results/"):
            return "![%s](bench/%s)" % (alt, os.path.basename(path))
        return m.group(0)
    text = re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", img, text)

    def link(m):
        label, target = m.group(1), m.group(2)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return m.group(0)
        path, _, frag = target.partition("#")
        path = os.path.normpath(os.path.join(here, path))
        frag = "#" + frag if frag else ""
        m2 = re.match(r"chapters/(\d\d-[a-z0-9-]+)/README\.md$", path)
        if m2:
            return "[%s](%s.html%s)" % (label, m2.group(1), frag)
        if path in ("chapters/README.md", "README.md"):
            return "[%s](index.html%s)" % (label, frag)
        if os.path.isfile(path):
            sources.setdefault(path, True)
            return "[%s](%s.html%s)" % (label, path, frag)
        return m.group(0)
    return re.sub(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)", link, text)


def checks_table(num):
    """The chapter program's latest table of checks as HTML."""
    path = os.path.join(DATA, "ch%s_checks.tsv" % num)
    if not os.path.exists(path):
        return ("\n## The checks of this chapter\n\nThe program has not run yet: `make tour` runs it "
                "and writes its table here.\n")
    title, when, rows, notes = "", "", [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# run: "):
            when = line[7:]
        elif line.startswith("# ") and not title:
            title = line[2:]
        elif line.startswith("# "):
            notes.append(line[2:])
        elif line.startswith("quantity\t"):
            continue
        elif line:
            rows.append(line.split("\t"))
    h = ["\n## The checks of this chapter\n",
         "The table of `build/chapters/%s` as it last ran (%s): %s.\n" % (
             os.path.basename(glob.glob("chapters/%s-*" % num)[0]), html.escape(when), html.escape(title)),
         '<table class="checks"><thead><tr><th>quantity</th><th>computed</th><th>exact</th><th>error</th>'
         "<th>tolerance</th><th>verdict</th></tr></thead><tbody>"]
    for r in rows:
        r = (r + [""] * 6)[:6]
        h.append("<tr><td>%s</td>%s<td class=\"%s\">%s</td></tr>" % (
            html.escape(r[0]), "".join('<td class="num">%s</td>' % html.escape(c) for c in r[1:5]),
            html.escape(r[5]), html.escape(r[5])))
    h.append("</tbody></table>\n")
    for n in notes:
        h.append("<p><small>%s</small></p>\n" % html.escape(n))
    return "\n".join(h)


def pandoc(markdown, title, out_path, nav):
    css_path = os.path.relpath(os.path.join(OUT, "book.css"), os.path.dirname(out_path))
    p = subprocess.run(["pandoc", "-f", "gfm+tex_math_dollars", "-t", "html5", "--standalone", "--mathml",
                        "--metadata", "pagetitle=" + title, "--css", css_path,
                        "--include-before-body", nav, "-o", out_path],
                       input=markdown.encode("utf-8"), capture_output=True)
    if p.returncode != 0 or p.stderr.strip():
        problems.append("pandoc on %s: %s" % (out_path, p.stderr.decode("utf-8", "replace").strip() or "failed"))


def source_page(path):
    """A source file as HTML, every line addressable as #L<n>."""
    lines = list(source_lines(path))
    if lines and lines[-1] == "":
        lines.pop()
    out = os.path.join(OUT, path + ".html")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    depth = "../" * path.count("/")
    body = "".join('<div id="L%d"><a class="ln" href="#L%d">%d</a>%s</div>' % (i, i, i, html.escape(l) or " ")
                   for i, l in enumerate(lines, 1))
    with open(out, "w", encoding="utf-8") as f:
        f.write('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title>'
                '<link rel="stylesheet" href="%sbook.css"></head><body style="max-width:none">'
                '<nav><a href="%sindex.html">the course map</a> <code>%s</code></nav>'
                '<div class="src">%s</div></body></html>\n' % (html.escape(path), depth, depth, html.escape(path), body))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "figures"))
    os.makedirs(os.path.join(OUT, "bench"))
    with open(os.path.join(OUT, "book.css"), "w") as f:
        f.write(CSS)
    for png in glob.glob("figures/png/*.png"):
        shutil.copy(png, os.path.join(OUT, "figures"))
    for png in glob.glob("bench/results/*.png"):
        shutil.copy(png, os.path.join(OUT, "bench"))
    chapters = sorted(d for d in glob.glob("chapters/[0-9][0-9]-*") if os.path.isfile(d + "/README.md"))
    nav_path = os.path.join(OUT, ".nav.html")
    with open(nav_path, "w") as f:
        f.write("<nav><a href=\"index.html\">the course map</a>" + "".join(
            '<a href="%s.html">%s</a>' % (os.path.basename(c), "ch. %d" % int(os.path.basename(c)[:2]))
            for c in chapters) + "</nav>\n")
    # the index: the course map, and the chapters
    text = open("chapters/README.md", encoding="utf-8").read()
    intro = "\n\n## The chapters\n\n" + "".join(
        "- [%s](%s.html)\n" % (open(c + "/README.md", encoding="utf-8").readline().lstrip("# ").strip(),
                              os.path.basename(c)) for c in chapters)
    pandoc(link_refs(rewrite_links(text + intro, "chapters"), ""), "fmd: the course map",
           os.path.join(OUT, "index.html"), nav_path)
    for c in chapters:
        name = os.path.basename(c)
        text = open(c + "/README.md", encoding="utf-8").read()
        text = link_refs(rewrite_links(text, c), "") + checks_table(name[:2])
        title = text.split("\n", 1)[0].lstrip("# ").strip()
        pandoc(text, title, os.path.join(OUT, name + ".html"), nav_path)
    for path in sorted(sources):
        source_page(path)
    os.remove(nav_path)
    for p in problems:
        print("book: " + p)
    if problems:
        sys.exit(1)
    print("book: %s/index.html, %d chapters, %d source pages" % (OUT, len(chapters), len(sources)))


main()

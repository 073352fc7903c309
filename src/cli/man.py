#!/usr/bin/env python3
"""man.py FMD OUTDIR -- the man pages of the fmd command, written from its
own --help texts, so a page and the help it documents cannot drift apart.

fmd(1) is `fmd --help`; fmd-COMMAND(1) is `fmd COMMAND --help` for every
command the list in `fmd --help` names (but help): its NAME line is the
command's summary from that list, its SYNOPSIS the usage lines at the top of
its help, its DESCRIPTION the rest of the help, line for line (no filling,
so a table of options keeps its columns). No date is written: the pages are
the same bits for the same fmd. `make install` installs them in man1/;
verify/check_install.sh checks that man renders each one and that every
line of the help text is on its page.
"""
import os
import re
import subprocess
import sys


def roff_text(line):
    """One line of help as roff text: backslashes and hyphens escaped (\\- is
    an ASCII hyphen-minus, so options can be copied), a line that starts
    with a dot or a quote protected."""
    line = line.replace("\\", "\\e").replace("-", "\\-")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line


def page(name, section_title, version, summary, usage_lines, body_lines, see_also):
    out = [f'.TH {name.upper()} 1 "" "fmd {version}" "{section_title}"',
           ".SH NAME", f"{roff_text(name)} \\- {roff_text(summary)}",
           ".SH SYNOPSIS", ".nf"]
    out += [roff_text(re.sub(r"^usage: ", "", u) if u.startswith("usage: ") else u) for u in usage_lines]
    out += [".fi", ".SH DESCRIPTION", ".nf"]
    out += [roff_text(b) for b in body_lines]
    out += [".fi", ".SH SEE ALSO", ", ".join(f"\\fB{roff_text(s)}\\fR(1)" for s in see_also)]
    return "\n".join(out) + "\n"


def split_usage(text):
    """The usage lines (the first line and those indented under it) and the
    rest, without leading blank lines."""
    lines = text.rstrip("\n").split("\n")
    n = 1
    while n < len(lines) and lines[n].startswith(" ") and lines[n].strip():
        n += 1
    body = lines[n:]
    while body and not body[0].strip():
        body.pop(0)
    return lines[:n], body


def run(fmd, *args):
    r = subprocess.run([fmd, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"man.py: `fmd {' '.join(args)}` failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: man.py FMD OUTDIR")
    fmd, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    version = run(fmd, "version").split()[1]
    top = run(fmd, "--help")
    commands = []
    in_list = False
    for line in top.split("\n"):
        if line == "Commands:":
            in_list = True
        elif in_list and not line.strip():
            in_list = False
        elif in_list:
            name, summary = line.strip().split(None, 1)
            if name != "help":
                commands.append((name, summary))
    pages = {}
    usage, body = split_usage(top)
    title = "fmd -- flow matching and diffusion models, the reference in C."
    summary = "flow matching and diffusion models, the reference in C"
    body = [b for b in body if b != title] or body
    pages["fmd.1"] = page("fmd", "fmd manual", version, summary, usage, body,
                          [f"fmd-{c}" for c, _ in commands])
    for name, summary in commands:
        usage, body = split_usage(run(fmd, name, "--help"))
        pages[f"fmd-{name}.1"] = page(f"fmd-{name}", "fmd manual", version, summary, usage, body, ["fmd"])
    for file, text in pages.items():   # whole or not at all: write aside, then rename
        path = os.path.join(outdir, file)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    print(f"man.py: {len(pages)} pages in {outdir}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""check_book.py -- the rendered book (build/book/), read by a real browser.

    python3 verify/check_book.py BOOK_DIR

For the index and every chapter page it checks, and fails (exit 1, naming
each problem) on
  - a formula Pandoc could not convert (it leaves `<span class="math ...">`
    holding raw TeX instead of a <math> element);
  - a broken internal link: a relative href whose file is missing, or whose
    #fragment is no id of the target page;
  - a missing image, as the browser sees it: headless Chromium loads a copy
    of the page with a short script that records every <img> whose
    naturalWidth is 0 and every <math> that takes no space;
  - a blank page: Chromium's screenshot of the page (saved as
    BOOK_DIR/shots/NAME.png, and NAME-checks.png of its table of checks alone) decoded here and found to be nearly one colour.
The pages themselves carry no script; the probe exists only in the copy."""
import glob
import os
import re
import struct
import subprocess
import sys
import zlib

BOOK = sys.argv[1] if len(sys.argv) > 1 else "build/book"
problems = []


def chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        for d in os.environ.get("PATH", "").split(":"):
            if os.access(os.path.join(d, c), os.X_OK):
                return os.path.join(d, c)
    sys.exit("check_book: no chromium on PATH (Debian: apt-get install chromium)")


BROWSER = chromium()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-dev-shm-usage", "--allow-file-access-from-files"]


_ids = {}


def ids_of(path):
    """The ids a page defines, read once per page (a chapter links to the
    same source pages many times)."""
    if path not in _ids:
        _ids[path] = set(re.findall(r'\sid="([^"]+)"', open(path, encoding="utf-8").read()))
    return _ids[path]


def static_checks(page):
    text = open(page, encoding="utf-8").read()
    for m in re.finditer(r'<span class="math (inline|display)">(.*?)</span>', text, re.S):
        if "<math" not in m.group(2):
            problems.append("%s: a formula Pandoc could not convert: %s" % (page, m.group(2)[:80]))
    here = os.path.dirname(page)
    for href in re.findall(r'<a [^>]*href="([^"]+)"', text):
        if re.match(r"[a-z]+:", href):
            continue
        path, _, frag = href.partition("#")
        target = os.path.normpath(os.path.join(here, path)) if path else page
        if not os.path.isfile(target):
            problems.append("%s: link %s: %s does not exist" % (page, href, target))
        elif frag and frag not in ids_of(target):
            problems.append("%s: link %s: no id %s in %s" % (page, href, frag, target))
    for src in re.findall(r'<img [^>]*src="([^"]+)"', text):
        if not re.match(r"[a-z]+:", src) and not os.path.isfile(os.path.join(here, src)):
            problems.append("%s: image %s does not exist" % (page, src))


PROBE = """<script>
window.addEventListener('load', function () {
  var bad = [];
  for (var i = 0; i < document.images.length; i++) {
    var im = document.images[i];
    if (!im.complete || im.naturalWidth === 0) bad.push('image not loaded: ' + im.getAttribute('src'));
  }
  var maths = document.getElementsByTagName('math');
  for (var j = 0; j < maths.length; j++) {
    var r = maths[j].getBoundingClientRect();
    if (r.width === 0 || r.height === 0) bad.push('formula takes no space: ' + maths[j].textContent.slice(0, 40));
  }
  var p = document.createElement('pre');
  p.id = 'fmd-probe';
  p.textContent = 'PROBE images=' + document.images.length + ' maths=' + maths.length + '\\n' + bad.join('\\n');
  document.body.appendChild(p);
});
</script>"""


def browser_checks(page):
    text = open(page, encoding="utf-8").read()
    probe_page = os.path.join(os.path.dirname(page), ".probe-" + os.path.basename(page))
    with open(probe_page, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", PROBE + "</body>"))
    try:
        p = subprocess.run([BROWSER] + FLAGS + ["--virtual-time-budget=10000", "--dump-dom",
                                                "file://" + os.path.abspath(probe_page)],
                           capture_output=True, timeout=120)
    finally:
        os.remove(probe_page)
    dom = p.stdout.decode("utf-8", "replace")
    m = re.search(r'<pre id="fmd-probe">PROBE images=(\d+) maths=(\d+)\n?(.*?)</pre>', dom, re.S)
    if not m:
        problems.append("%s: the browser did not finish loading the page (exit %d)" % (page, p.returncode))
        return 0, 0
    for line in m.group(3).split("\n"):
        if line.strip():
            problems.append("%s: %s" % (page, line.strip()))
    return int(m.group(1)), int(m.group(2))


def png_pixels(path):
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes): (width, height, rows)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("unexpected PNG type")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def checks_only(page):
    """A copy of a chapter page holding only its table of checks (the head
    kept, the body from the section's heading on), beside the page."""
    text = open(page, encoding="utf-8").read()
    i = text.index('<h2 id="the-checks-of-this-chapter"')
    j = text.index("<body")
    j = text.index(">", j) + 1
    copy = os.path.join(os.path.dirname(page), ".checks-" + os.path.basename(page))
    with open(copy, "w", encoding="utf-8") as f:
        f.write(text[:j] + text[i:])
    return copy


def screenshot(page, shots, name=None):
    name = name or os.path.splitext(os.path.basename(page))[0]
    shot = os.path.join(shots, name + ".png")
    if os.path.exists(shot):
        os.remove(shot)
    subprocess.run([BROWSER] + FLAGS + ["--window-size=1200,1600", "--virtual-time-budget=10000",
                                        "--screenshot=" + os.path.abspath(shot), "file://" + os.path.abspath(page)],
                   capture_output=True, timeout=120)
    if not os.path.exists(shot):
        problems.append("%s: no screenshot" % page)
        return
    w, h, rows, bpp = png_pixels(shot)
    # a page with text, formulas and figures has many pixels far from the
    # background (a chapter's first screen: tens of thousands of the 120000
    # sampled); a blank page has none -- 200 separates the two with room
    bg = rows[0][:3]
    ink = sum(1 for y in range(0, h, 4) for x in range(0, w, 4)
              if sum(abs(rows[y][x * bpp + k] - bg[k]) for k in range(3)) > 96)
    if ink < 200:
        problems.append("%s: the screenshot is blank (%d inked pixels of %d sampled)" % (page, ink, (w // 4) * (h // 4)))


def main():
    pages = [os.path.join(BOOK, "index.html")] + sorted(glob.glob(os.path.join(BOOK, "[0-9][0-9]-*.html")))
    if not os.path.isfile(pages[0]):
        sys.exit("check_book: %s has no index.html (run make book)" % BOOK)
    shots = os.path.join(BOOK, "shots")
    os.makedirs(shots, exist_ok=True)
    for page in pages:
        static_checks(page)
        images, maths = browser_checks(page)
        screenshot(page, shots)
        if 'id="the-checks-of-this-chapter"' in open(page, encoding="utf-8").read():
            copy = checks_only(page)   # the table of checks on its own
            try:
                screenshot(copy, shots, os.path.splitext(os.path.basename(page))[0] + "-checks")
            finally:
                os.remove(copy)
        print("check_book: %-45s %3d images, %4d formulas" % (os.path.basename(page), images, maths))
    for p in problems:
        print("check_book: " + p)
    if problems:
        sys.exit(1)
    print("check_book: %d pages load in Chromium with every image, link and formula; screenshots in %s" %
          (len(pages), shots))


main()

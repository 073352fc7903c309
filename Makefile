# fmd -- flow matching and diffusion models, the reference in C.
#
#   make tour      build, run every chapter program, check the numbers their texts
#                  quote, draw every figure into build/figures/ (the main job)
#   make check     the verification suite (Criterion) and the chapter-reference check
#   make           libfmd.a, the fmd command and the chapter programs
#   make tour-full the tour with the chapters' long runs too (see README)
#   make figures   the tour, drawing into figures/png/ (committed) and rewriting
#                  figures/exact_data.sha256, the hashes the tour checks
#   make clean-cache  forget what the chapters keep between runs (models, tables)
#   make across-machines  every chapter under BLIS's other kernels and on one CPU:
#                  how far each quoted number moves between machines (~3 tours)
#   make book      the chapters as a static site in build/book/, checked in a browser
#   make bench     benchmarks: bench/results/*.tsv and *.png
#   make examples  the course's PyTorch lab, checked exactly by the Python binding
#   make sanitize  the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz      libFuzzer on the file parsers (the suite replays their corpus)
#   make clean     remove build/
#
# Every user-facing target first installs missing Debian packages (as root,
# or through sudo) and says what to install when it cannot.

PACKAGES := libgsl-dev libblis-dev libcriterion-dev gnuplot-nox python3 zlib1g-dev dataset-fashion-mnist libsleef-dev \
            pkg-config man-db python3-numpy python3-pytest python3-venv

CC      ?= cc
BUILD   ?= build
# -ftree-vectorize: elementwise loops become vector instructions (at -O2
# GCC 12 vectorizes only loops that need no remainder). -fno-math-errno:
# sqrt may then be a vector instruction too; IEEE results are unchanged,
# only errno is not set (fmd never reads it). -ffp-contract=off: a * b + c is
# rounded twice, as written, on every instruction set (see src/base/vecmath.h).
OPT     ?= -O2 -g -ftree-vectorize -fvect-cost-model=dynamic -fno-math-errno -ffp-contract=off
SAN     ?=
# -std=gnu11: blis.h needs POSIX types under strict C11 (blis.h uses POSIX types such as pthread_t).
# No -ffast-math: the tests rely on NaN and infinity behaving as IEEE says.
# Threads are fmd's own (src/base/team.h, POSIX threads), not OpenMP's.
CFLAGS_ALL = -std=gnu11 $(OPT) $(SAN) -Wall -Wextra -Werror=implicit-function-declaration -pthread -Isrc
# BLIS: header under blis-openmp/ (no pkg-config file); only src/base/matmul.c sees it.
BLIS_INC   = /usr/include/x86_64-linux-gnu/blis-openmp
LDLIBS_ALL = $(SAN) -pthread -lgsl -lgslcblas -lblis -lsleef -lz -lm

# src/ is in folders by layer, each using only the layers before it
# (src/README.md; verify/check_layers.py holds every include to that). The
# library is every layer but cli/, the command. *_typed.c are not units of
# their own: their module includes them, once per number type
# (src/base/typed_begin.h).
LAYERS      := base flows paths networks sde_view files cli
LIB_SRC     := $(filter-out src/cli/% %_typed.c,$(wildcard src/*/*.c))
CLI_SRC     := $(wildcard src/cli/*.c)
SRC_HDR     := src/fmd.h $(wildcard src/*/*.h)
SRC_ALL     := $(sort $(wildcard src/*/*.c) $(SRC_HDR))
CHAPTER_DIRS := $(sort $(dir $(wildcard chapters/*/main.c)))
CHAPTERS    := $(patsubst chapters/%/,%,$(CHAPTER_DIRS))
VERIFY_SRC  := $(wildcard verify/*.c)
BENCH_SRC   := $(wildcard bench/*.c)

LIB      := $(BUILD)/libfmd.a
# The shared library: libfmd.so.MAJOR.MINOR, soname libfmd.so.MAJOR; the
# version is FMD_VERSION in src/fmd.h (one place).
VERSION  := $(shell sed -n 's/^\#define FMD_VERSION "\(.*\)"/\1/p' src/fmd.h)
MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
MINOR    := $(word 2,$(subst ., ,$(VERSION)))
SONAME   := libfmd.so.$(MAJOR)
SHLIB    := $(BUILD)/libfmd.so.$(MAJOR).$(MINOR)
FMD      := $(BUILD)/fmd
VERIFY   := $(BUILD)/fmd-verify
CH_BINS  := $(addprefix $(BUILD)/chapters/,$(CHAPTERS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: default all deps tour tour-full check figures book bench examples sanitize fuzz clean clean-cache \
        across-machines _all _check _bench _examples _sanitize
default: all

# ---- dependencies -------------------------------------------------------
deps:
	@missing=""; \
	if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "fmd: not a Debian system; make sure these are installed: $(PACKAGES)"; exit 0; fi; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	echo "fmd: installing missing Debian packages:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "fmd: cannot install packages (not root, no password-less sudo)."; \
	     echo "Install them yourself, then run make again:"; \
	     echo "    sudo apt-get install$$missing"; exit 1; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends$$missing >/dev/null || \
	{ echo "fmd: apt-get failed; run: sudo apt-get install$$missing"; exit 1; }

# ---- user targets: install what is missing, then do the work -------------
all: deps
	@$(MAKE) --no-print-directory _all
# The tour: verify/tour.py runs every chapter program (each prints its table
# of checks as it goes), checks every number the texts quote from the run
# (verify/check_numbers.py), draws every figure into $(BUILD)/figures/ and
# checks that the exact figures' data has the bits of the committed figures'
# (figures/exact_data.sha256); it ends with each chapter's time.
tour: deps
	@$(MAKE) --no-print-directory _all
	@python3 verify/tour.py $(BUILD)
tour-full: deps
	@$(MAKE) --no-print-directory _all
	@python3 verify/tour.py --full $(BUILD)
check: deps
	@$(MAKE) --no-print-directory _check
# For a maintainer whose change moves a figure: the tour, drawing into the
# committed figures/png/ and rewriting the hashes the tour checks.
figures: deps
	@$(MAKE) --no-print-directory _all
	@python3 verify/tour.py --write $(BUILD)
# The tolerances of the numbers the texts quote, measured: the chapters run
# three times, as three different machines would run them (verify/across_machines.py).
across-machines: deps
	@$(MAKE) --no-print-directory _all
	@python3 verify/across_machines.py $(BUILD)
# What the chapters keep between runs (src/files/kept.h): each kept file NAME in
# $(BUILD)/data/ has NAME.key beside it; both go.
clean-cache:
	@for k in $(BUILD)/data/*.key; do [ -e "$$k" ] || continue; rm -f "$$k" "$${k%.key}"; echo "removed $${k%.key}"; done
# The book: the chapters rendered by Pandoc into build/book/ (open
# build/book/index.html), each with the table of checks of its program's
# latest run (the chapters run first if any table is missing), then read by
# headless Chromium (verify/check_book.py: images, links, formulas, blank
# pages; screenshots in build/book/shots/). Pandoc and Chromium are needed
# by this target only.
BOOK_PACKAGES := pandoc chromium
book: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(BOOK_PACKAGES)"
	@$(MAKE) --no-print-directory _all
	@for c in $(CHAPTERS); do n=$$(echo $$c | cut -c1-2); \
	  [ -f $(BUILD)/data/ch$${n}_checks.tsv ] || { python3 verify/tour.py $(BUILD) || exit 1; break; }; done
	python3 chapters/book/build.py $(BUILD)/book $(BUILD)/data
	python3 verify/check_book.py $(BUILD)/book
	@echo "book: open $(BUILD)/book/index.html in a browser (it needs no network)"

# The benchmarks' peers (NumPy, PyTorch; Debian's, run by /usr/bin/python3)
# are needed by `make bench` only, never by the library or the suite.
BENCH_PACKAGES := python3-numpy python3-torch
bench: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(BENCH_PACKAGES)"
	@$(MAKE) --no-print-directory _bench
# The course's PyTorch lab, checked exactly through the Python binding
# (chapters/04-training-flow-and-diffusion-models/torch_lab.py): torch is
# large, so it runs here and in make bench, never in make check.
examples: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(BENCH_PACKAGES)"
	@$(MAKE) --no-print-directory _all _examples
_examples:
	@mkdir -p bench/results
	FMD_BIN=$(FMD) PYTHONPATH=python $(PYTHON) chapters/04-training-flow-and-diffusion-models/torch_lab.py bench/results
	gnuplot -e "dir='bench/results'" bench/torch_lab.gp
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/sanitize OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" _sanitize

# The Fashion-MNIST mixture of issue 15: one component per class, covariance
# diag(D) + F F^T of rank 32, fitted in closed form (fmd fit-gmm, 7 s): an
# exact ground truth at image scale (chapter 6).
FMNIST_GMM := $(BUILD)/data/fmnist_lowrank32.gmm
_all: $(LIB) $(SHLIB) $(FMD) $(CH_BINS) $(FMNIST_GMM) $(BUILD)/man/fmd.1

$(FMNIST_GMM): $(FMD)
	@mkdir -p $(dir $@)
	$(FMD) fit-gmm --data fashion-mnist --per-class --rank 32 --out $@

# ---- compiling ----------------------------------------------------------
# One set of objects for the static and the shared library: position
# independent (-fPIC), and -fno-semantic-interposition so GCC still inlines
# and optimizes calls within the library exactly as without -fPIC (the same
# bits; only the .so's exported fmd_ names could be interposed, and fmd does
# not support that).
$(BUILD)/obj/%.o: src/%.c $(SRC_HDR) $(wildcard src/*/*_typed.c) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PIC) -c $< -o $@
PIC = -fPIC -fno-semantic-interposition
$(BUILD)/obj/cli/%.o: PIC =

$(BUILD)/obj/base/matmul.o: CFLAGS_ALL += -isystem $(BLIS_INC)
# SLEEF's wide variants: each file is compiled for its instruction set and
# called only on a CPU that has it (src/base/vecmath.c checks at run time).
$(BUILD)/obj/base/vecmath_avx512.o: CFLAGS_ALL += -mavx512f
$(BUILD)/obj/base/vecmath_avx2.o: CFLAGS_ALL += -mavx2 -mfma
# The exact field's fast path may fuse a * b + c into one rounding (FMA):
# half the instructions in its inner loops (see src/paths/marginal_field.c).
$(BUILD)/obj/paths/marginal_field.o: CFLAGS_ALL += -ffp-contract=fast
$(BUILD)/obj/paths/marginal_lowrank.o: CFLAGS_ALL += -ffp-contract=fast

$(LIB): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FMD): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CLI_SRC)) $(LIB)
	$(CC) $^ -o $@ $(LDLIBS_ALL)

# The shared library exports the API -- the fmd_ functions the installed
# headers declare (what the preprocessor makes of src/fmd.h, so the typed
# f32 names count) -- and hides the rest (the vector-math variants, the
# kernels under the U-Net's layers): the version script lists the one and
# makes the other local.
$(BUILD)/libfmd.map: $(LIB) $(SRC_HDR)
	@$(CC) -std=gnu11 -E -Isrc src/fmd.h | grep -o '\bfmd_[A-Za-z0-9_]*' | sort -u > $@.api
	@{ echo '/* generated by the Makefile: the API of src/fmd.h */'; echo '{ global:'; \
	  nm -g --defined-only $(LIB) | awk '$$3 ~ /^fmd_[A-Za-z0-9_]*$$/ {print $$3}' | sort -u | \
	  comm -12 - $@.api | sed 's/^/    /; s/$$/;/'; echo '  local: *; };'; } > $@.tmp && mv $@.tmp $@
$(SHLIB): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/libfmd.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/libfmd.map -Wl,--no-undefined \
	  $(filter %.o,$^) -o $@ $(LDLIBS_ALL)

# The man pages, written from the command's own --help texts (src/cli/man.py).
$(BUILD)/man/fmd.1: $(FMD) src/cli/man.py
	@python3 src/cli/man.py $(FMD) $(BUILD)/man

# A chapter's program is every .c file of its directory: main.c and the
# parts it calls (chapter 5's U-Net is unet_part.c). Its code key (src/files/kept.h)
# is a hash of every source it is built from -- the library's, its own and
# its data files -- and of the compiler's version and flags: what it keeps
# between runs is reused only by a program with the same key.
.SECONDEXPANSION:
$(BUILD)/chapters/%: $$(wildcard chapters/$$*/*.c) $$(wildcard chapters/$$*/*.h) $(LIB) $(SRC_HDR)
	@mkdir -p $(dir $@)
	@key=$$({ cat $(SRC_ALL) $(filter-out %/README.md,$(sort $(wildcard chapters/$*/*))); \
	  $(CC) --version; echo '$(CFLAGS_ALL) $(LDLIBS_ALL)'; } | sha256sum | cut -c1-16); \
	echo "$(CC) $(CFLAGS_ALL) -DFMD_CODE_KEY=\"$$key\" $(filter %.c,$^) $(LIB) -o $@ $(LDLIBS_ALL)"; \
	$(CC) $(CFLAGS_ALL) -DFMD_CODE_KEY=\"$$key\" $(filter %.c,$^) $(LIB) -o $@ $(LDLIBS_ALL)

$(VERIFY): $(VERIFY_SRC) $(wildcard verify/*.h) $(LIB) $(SRC_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Iverify $(VERIFY_SRC) $(LIB) -o $@ $(LDLIBS_ALL) -lcriterion

$(BUILD)/bench/%: bench/%.c $(LIB) $(SRC_HDR) $(wildcard bench/*.h) chapters/05-conditional-generation/unet_recipe.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $< $(LIB) -o $@ $(LDLIBS_ALL)

# ---- running ------------------------------------------------------------
# Each chapter program prints its table of checks and writes the data of its
# figures under $(BUILD)/data/; it exits non-zero if a check fails. The
# figures are committed (figures/png/), so a chapter page shows them on any
# repository viewer; `make tour` draws its own into $(BUILD)/figures/, so a
# clone stays clean, and `make figures` rewrites the committed ones.

# The chapter texts cite code and tests by path and name: check they exist,
# then run the suite (Criterion prints the closing summary). The suite never
# runs more threads than the CPUs this process may use (`fmd version` says how
# many): one Criterion job per CPU, each test on one thread (FMD_THREADS=1
# for the fmd commands the tests start); then the suite `threads`, whose
# tests start two threads, on its own with one job.
SUITE_RUN = cpus=$$($(FMD) version | sed -n 's/^threads: \([0-9]*\).*/\1/p'); \
	FMD_THREADS=1 FMD_BIN=$(FMD) $(SUITE_ENV) $(VERIFY) --jobs $${cpus:-1} --filter '!(threads)/*' && \
	FMD_BIN=$(FMD) $(SUITE_ENV) $(VERIFY) --jobs 1 --filter 'threads/*'

_check: $(VERIFY) $(FMD) $(SHLIB) $(BUILD)/man/fmd.1
	@python3 verify/check_layers.py
	@python3 verify/check_layers.py --selftest
	@FMD_THREADS=1 sh verify/check_refs.sh
	@python3 verify/check_figures.py
	@FMD_THREADS=1 sh verify/check_cli.sh $(FMD)
	@FMD_THREADS=1 sh verify/check_cli_errors.sh $(FMD)
	@FMD_THREADS=1 sh verify/check_safetensors.sh $(FMD)
	@FMD_THREADS=1 sh verify/check_install.sh $(BUILD)
	@FMD_THREADS=1 FMD_BIN=$(FMD) PYTHONPATH=python $(PYTHON) -m pytest -q -p no:cacheprovider verify/python
	@$(SUITE_RUN)

_sanitize: SUITE_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
_sanitize: $(VERIFY) $(FMD) $(SHLIB)
	@$(SUITE_RUN)
	@$(SUITE_ENV) FMD_THREADS=1 FMD_NO_ULIMIT=1 sh verify/check_cli_errors.sh $(FMD)
	@$(PYTHON) verify/python/asan_leaks.py $(SHLIB)

_bench: $(BENCH_BINS) $(BUILD)/data/fmnist_lowrank32.gmm $(BUILD)/chapters/05-conditional-generation
	@mkdir -p bench/results
	@# the U-Net sweep measures in chapter 5's classifier features: a clone that has not run
	@# the tour gets them from chapter 5 first (about 9 minutes; make tour keeps them)
	@test -f $(BUILD)/data/ch05_fmnist_classifier.safetensors || { echo "==== chapter 5, for its classifier"; \
	  FMD_DATA=$(BUILD)/data $(BUILD)/chapters/05-conditional-generation > $(BUILD)/bench_chapter05.log; }
	@set -e; for b in $(BENCH_BINS); do echo "==== $$b"; $$b bench/results; done
	@echo "==== bench/suite_load.sh"; sh bench/suite_load.sh bench/results
	@echo "==== torch_lab.py"; FMD_BIN=$(FMD) PYTHONPATH=python $(PYTHON) \
	  chapters/04-training-flow-and-diffusion-models/torch_lab.py bench/results
	@set -e; for f in bench/*.gp; do echo "gnuplot $$f"; gnuplot -e "dir='bench/results'" $$f; done

# libFuzzer on the file parsers (clang), each starting from its committed corpus;
# new inputs go to build/fuzz/, FUZZ_SECONDS long (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory deps PACKAGES="clang"
	@mkdir -p build/fuzz/gmm
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Isrc -isystem $(BLIS_INC) -c src/base/matmul.c \
	  -o build/fuzz/matmul.o
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_gmm_file.c \
	  src/files/gmm_file.c src/paths/gmm.c src/paths/lowrank.c src/base/cholesky.c src/base/rng.c src/base/status.c \
	  src/flows/field.c src/base/team.c build/fuzz/matmul.o \
	  -o build/fuzz/fuzz_gmm_file -pthread -lgsl -lgslcblas -lblis -lm
	build/fuzz/fuzz_gmm_file -max_total_time=$(FUZZ_SECONDS) build/fuzz/gmm verify/fuzz/corpus/gmm
	@mkdir -p build/fuzz/safetensors
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_safetensors.c \
	  src/files/safetensors.c src/base/atomic_file.c src/base/status.c -o build/fuzz/fuzz_safetensors -lgsl -lgslcblas -lm
	build/fuzz/fuzz_safetensors -max_total_time=$(FUZZ_SECONDS) build/fuzz/safetensors verify/fuzz/corpus/safetensors
	@mkdir -p build/fuzz/idx
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_idx.c \
	  src/files/idx.c src/base/status.c -o build/fuzz/fuzz_idx -lgsl -lgslcblas -lz -lm
	build/fuzz/fuzz_idx -max_total_time=$(FUZZ_SECONDS) build/fuzz/idx verify/fuzz/corpus/idx
	@$(MAKE) --no-print-directory $(LIB)
	@mkdir -p build/fuzz/model
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_model_file.c \
	  src/files/model_file.c src/files/checkpoint.c src/files/unet_checkpoint.c src/files/safetensors.c \
	  src/base/atomic_file.c src/base/status.c \
	  $(LIB) -o build/fuzz/fuzz_model_file -pthread -lgsl -lgslcblas -lblis -lsleef -lz -lm
	build/fuzz/fuzz_model_file -max_total_time=$(FUZZ_SECONDS) build/fuzz/model verify/fuzz/corpus/model

# ---- installing ----------------------------------------------------------
# GNU conventions: PREFIX (default /usr/local) and DESTDIR (a staging root);
# `make uninstall` with the same PREFIX and DESTDIR removes what install put.
#   $(bindir)/fmd                      the command
#   $(libdir)/libfmd.a, libfmd.so.M.m  the library (+ the libfmd.so.M and libfmd.so links)
#   $(includedir)/fmd/fmd.h, fmd/*/    the headers, by layer; include <fmd/fmd.h>
#   $(libdir)/pkgconfig/fmd.pc         pkg-config --cflags --libs fmd
#   $(man1dir)/fmd.1, fmd-COMMAND.1    the man pages
#   $(pythondir)/fmd/                  the Python binding (python/fmd), told where libfmd is
# The installed headers name each other <fmd/LAYER/NAME.h> (in src/ they are
# "LAYER/NAME.h", found through -Isrc): only -I$(includedir) is needed.
PREFIX     ?= /usr/local
prefix      = $(PREFIX)
exec_prefix = $(prefix)
bindir      = $(exec_prefix)/bin
libdir      = $(exec_prefix)/lib
includedir  = $(prefix)/include
mandir      = $(prefix)/share/man
man1dir     = $(mandir)/man1
INSTALL    ?= install
# Debian's Python, which has NumPy (python3-numpy); the binding installs
# where it looks for a prefix's packages: PREFIX/lib/python3.X/dist-packages
# (for PREFIX=/usr/local it is on sys.path; elsewhere add it to PYTHONPATH).
PYTHON     ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
pythondir   = $(prefix)/lib/$(shell $(PYTHON) -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null || echo python3)/dist-packages
# the headers fmd.h reaches, and fmd.h
API_HDR = $(shell { echo fmd.h; $(CC) -std=gnu11 -MM -MT x -Isrc src/fmd.h | tr ' \\' '\n\n' | \
            sed -n 's|^src/\(.*\.h\)$$|\1|p'; } | sort -u)

.PHONY: install uninstall _install
install: all
	@$(MAKE) --no-print-directory _install
_install: $(LIB) $(SHLIB) $(FMD) $(BUILD)/man/fmd.1 $(BUILD)/fmd.pc
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir)/pkgconfig $(DESTDIR)$(man1dir)
	$(INSTALL) -m 755 $(FMD) $(DESTDIR)$(bindir)/fmd
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(libdir)/libfmd.a
	$(INSTALL) -m 755 $(SHLIB) $(DESTDIR)$(libdir)/
	ln -sf libfmd.so.$(MAJOR).$(MINOR) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libfmd.so
	@for h in $(API_HDR); do \
	  $(INSTALL) -d $(DESTDIR)$(includedir)/fmd/$$(dirname $$h) && \
	  sed 's|^\(#include \)"\(.*\.h\)"|\1<fmd/\2>|' src/$$h > $(DESTDIR)$(includedir)/fmd/$$h.tmp && \
	  chmod 644 $(DESTDIR)$(includedir)/fmd/$$h.tmp && mv $(DESTDIR)$(includedir)/fmd/$$h.tmp $(DESTDIR)$(includedir)/fmd/$$h || exit 1; \
	done; echo "installed $(words $(API_HDR)) headers in $(DESTDIR)$(includedir)/fmd/"
	sed 's|@prefix@|$(prefix)|' $(BUILD)/fmd.pc > $(DESTDIR)$(libdir)/pkgconfig/fmd.pc
	$(INSTALL) -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(man1dir)/
	$(INSTALL) -d $(DESTDIR)$(pythondir)/fmd
	$(INSTALL) -m 644 python/fmd/*.py $(DESTDIR)$(pythondir)/fmd/
	printf '# written by make install: where this package finds libfmd\nLIBDIR = %s\n' "'$(libdir)'" \
	  > $(DESTDIR)$(pythondir)/fmd/_config.py
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi
uninstall:
	rm -f $(DESTDIR)$(bindir)/fmd $(DESTDIR)$(libdir)/libfmd.a $(DESTDIR)$(libdir)/libfmd.so \
	  $(DESTDIR)$(libdir)/libfmd.so.$(MAJOR) $(DESTDIR)$(libdir)/libfmd.so.$(MAJOR).* \
	  $(DESTDIR)$(libdir)/pkgconfig/fmd.pc $(DESTDIR)$(man1dir)/fmd.1 $(DESTDIR)$(man1dir)/fmd-*.1
	rm -rf $(DESTDIR)$(includedir)/fmd $(DESTDIR)$(pythondir)/fmd

# pkg-config: GSL is public (the API takes gsl_rng streams), SLEEF, zlib and
# BLIS are the library's own (needed only to link libfmd.a: --static).
# BLIS has no .pc file on Debian, so it is named in Libs.private.
$(BUILD)/fmd.pc: Makefile src/fmd.h
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=@prefix@' 'exec_prefix=$${prefix}' 'libdir=$${exec_prefix}/lib' \
	  'includedir=$${prefix}/include' '' 'Name: fmd' \
	  'Description: flow matching and diffusion models, the reference in C' 'Version: $(VERSION)' \
	  'Requires: gsl' 'Requires.private: sleef zlib' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lfmd' \
	  'Libs.private: -lblis -pthread -lm' > $@

clean:
	rm -rf build

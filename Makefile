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
#   make sanitize  the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz      libFuzzer on the file parsers (the suite replays their corpus)
#   make clean     remove build/
#
# Every user-facing target first installs missing Debian packages (as root,
# or through sudo) and says what to install when it cannot.

PACKAGES := libgsl-dev libblis-dev libcriterion-dev gnuplot-nox python3 zlib1g-dev dataset-fashion-mnist libsleef-dev

CC      ?= cc
BUILD   ?= build
# -ftree-vectorize: elementwise loops become vector instructions (at -O2
# GCC 12 vectorizes only loops that need no remainder). -fno-math-errno:
# sqrt may then be a vector instruction too; IEEE results are unchanged,
# only errno is not set (fmd never reads it). -ffp-contract=off: a * b + c is
# rounded twice, as written, on every instruction set (see src/vecmath.h).
OPT     ?= -O2 -g -ftree-vectorize -fvect-cost-model=dynamic -fno-math-errno -ffp-contract=off
SAN     ?=
# -std=gnu11: blis.h needs POSIX types under strict C11 (blis.h uses POSIX types such as pthread_t).
# No -ffast-math: the tests rely on NaN and infinity behaving as IEEE says.
# Threads are fmd's own (src/team.h, POSIX threads), not OpenMP's.
CFLAGS_ALL = -std=gnu11 $(OPT) $(SAN) -Wall -Wextra -pthread -Isrc
# BLIS: header under blis-openmp/ (no pkg-config file); only src/matmul.c sees it.
BLIS_INC   = /usr/include/x86_64-linux-gnu/blis-openmp
LDLIBS_ALL = $(SAN) -pthread -lgsl -lgslcblas -lblis -lsleef -lz -lm

# src/*_typed.c are not units of their own: their module includes them, once
# per number type (src/typed_begin.h).
LIB_SRC     := $(filter-out src/main.c src/cli.c src/cmd_%.c src/%_typed.c,$(wildcard src/*.c))
CLI_SRC     := src/main.c src/cli.c $(wildcard src/cmd_*.c)
CHAPTER_DIRS := $(sort $(dir $(wildcard chapters/*/main.c)))
CHAPTERS    := $(patsubst chapters/%/,%,$(CHAPTER_DIRS))
VERIFY_SRC  := $(wildcard verify/*.c)
BENCH_SRC   := $(wildcard bench/*.c)

LIB      := $(BUILD)/libfmd.a
FMD      := $(BUILD)/fmd
VERIFY   := $(BUILD)/fmd-verify
CH_BINS  := $(addprefix $(BUILD)/chapters/,$(CHAPTERS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: default all deps tour tour-full check figures book bench sanitize fuzz clean clean-cache across-machines \
        _all _check _bench _sanitize
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
# What the chapters keep between runs (src/kept.h): each kept file NAME in
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
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/sanitize OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" _sanitize

# The Fashion-MNIST mixture of issue 15: one component per class, covariance
# diag(D) + F F^T of rank 32, fitted in closed form (fmd fit-gmm, 7 s): an
# exact ground truth at image scale (chapter 6).
FMNIST_GMM := $(BUILD)/data/fmnist_lowrank32.gmm
_all: $(LIB) $(FMD) $(CH_BINS) $(FMNIST_GMM)

$(FMNIST_GMM): $(FMD)
	@mkdir -p $(dir $@)
	$(FMD) fit-gmm --data fashion-mnist --per-class --rank 32 --out $@

# ---- compiling ----------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) $(wildcard src/*_typed.c) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/matmul.o: CFLAGS_ALL += -isystem $(BLIS_INC)
# SLEEF's wide variants: each file is compiled for its instruction set and
# called only on a CPU that has it (src/vecmath.c checks at run time).
$(BUILD)/obj/vecmath_avx512.o: CFLAGS_ALL += -mavx512f
$(BUILD)/obj/vecmath_avx2.o: CFLAGS_ALL += -mavx2 -mfma
# The exact field's fast path may fuse a * b + c into one rounding (FMA):
# half the instructions in its inner loops (see src/marginal_field.c).
$(BUILD)/obj/marginal_field.o: CFLAGS_ALL += -ffp-contract=fast
$(BUILD)/obj/marginal_lowrank.o: CFLAGS_ALL += -ffp-contract=fast

$(LIB): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FMD): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CLI_SRC)) $(LIB)
	$(CC) $^ -o $@ $(LDLIBS_ALL)

# A chapter's program is every .c file of its directory: main.c and the
# parts it calls (chapter 5's U-Net is unet_part.c). Its code key (src/kept.h)
# is a hash of every source it is built from -- the library's, its own and
# its data files -- and of the compiler's version and flags: what it keeps
# between runs is reused only by a program with the same key.
.SECONDEXPANSION:
$(BUILD)/chapters/%: $$(wildcard chapters/$$*/*.c) $$(wildcard chapters/$$*/*.h) $(LIB) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	@key=$$({ cat $(sort $(wildcard src/*.c src/*.h)) $(filter-out %/README.md,$(sort $(wildcard chapters/$*/*))); \
	  $(CC) --version; echo '$(CFLAGS_ALL) $(LDLIBS_ALL)'; } | sha256sum | cut -c1-16); \
	echo "$(CC) $(CFLAGS_ALL) -DFMD_CODE_KEY=\"$$key\" $(filter %.c,$^) $(LIB) -o $@ $(LDLIBS_ALL)"; \
	$(CC) $(CFLAGS_ALL) -DFMD_CODE_KEY=\"$$key\" $(filter %.c,$^) $(LIB) -o $@ $(LDLIBS_ALL)

$(VERIFY): $(VERIFY_SRC) $(wildcard verify/*.h) $(LIB) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Iverify $(VERIFY_SRC) $(LIB) -o $@ $(LDLIBS_ALL) -lcriterion

$(BUILD)/bench/%: bench/%.c $(LIB) $(wildcard src/*.h) $(wildcard bench/*.h)
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

_check: $(VERIFY) $(FMD)
	@FMD_THREADS=1 sh verify/check_refs.sh
	@python3 verify/check_figures.py
	@FMD_THREADS=1 sh verify/check_cli.sh $(FMD)
	@FMD_THREADS=1 sh verify/check_cli_errors.sh $(FMD)
	@FMD_THREADS=1 sh verify/check_safetensors.sh $(FMD)
	@$(SUITE_RUN)

_sanitize: SUITE_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
_sanitize: $(VERIFY) $(FMD)
	@$(SUITE_RUN)
	@$(SUITE_ENV) FMD_THREADS=1 FMD_NO_ULIMIT=1 sh verify/check_cli_errors.sh $(FMD)

_bench: $(BENCH_BINS) $(BUILD)/data/fmnist_lowrank32.gmm
	@mkdir -p bench/results
	@set -e; for b in $(BENCH_BINS); do echo "==== $$b"; $$b bench/results; done
	@echo "==== bench/suite_load.sh"; sh bench/suite_load.sh bench/results
	@set -e; for f in bench/*.gp; do echo "gnuplot $$f"; gnuplot -e "dir='bench/results'" $$f; done

# libFuzzer on the file parsers (clang), each starting from its committed corpus;
# new inputs go to build/fuzz/, FUZZ_SECONDS long (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory deps PACKAGES="clang"
	@mkdir -p build/fuzz/gmm
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Isrc -isystem $(BLIS_INC) -c src/matmul.c \
	  -o build/fuzz/matmul.o
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_gmm_file.c \
	  src/gmm_file.c src/gmm.c src/lowrank.c src/rng.c src/status.c src/field.c src/team.c build/fuzz/matmul.o \
	  -o build/fuzz/fuzz_gmm_file -pthread -lgsl -lgslcblas -lblis -lm
	build/fuzz/fuzz_gmm_file -max_total_time=$(FUZZ_SECONDS) build/fuzz/gmm verify/fuzz/corpus/gmm
	@mkdir -p build/fuzz/safetensors
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_safetensors.c \
	  src/safetensors.c src/atomic_file.c src/status.c -o build/fuzz/fuzz_safetensors -lgsl -lgslcblas -lm
	build/fuzz/fuzz_safetensors -max_total_time=$(FUZZ_SECONDS) build/fuzz/safetensors verify/fuzz/corpus/safetensors
	@mkdir -p build/fuzz/idx
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_idx.c \
	  src/idx.c src/status.c -o build/fuzz/fuzz_idx -lgsl -lgslcblas -lz -lm
	build/fuzz/fuzz_idx -max_total_time=$(FUZZ_SECONDS) build/fuzz/idx verify/fuzz/corpus/idx
	@$(MAKE) --no-print-directory $(LIB)
	@mkdir -p build/fuzz/model
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc verify/fuzz/fuzz_model_file.c \
	  src/model_file.c src/checkpoint.c src/unet_checkpoint.c src/safetensors.c src/atomic_file.c src/status.c \
	  $(LIB) -o build/fuzz/fuzz_model_file -pthread -lgsl -lgslcblas -lblis -lsleef -lz -lm
	build/fuzz/fuzz_model_file -max_total_time=$(FUZZ_SECONDS) build/fuzz/model verify/fuzz/corpus/model

clean:
	rm -rf build

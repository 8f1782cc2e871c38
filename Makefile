# Makefile for the Transformer in C.
#
#   make          build the core library, every lesson program and the viewer
#   make test     build and run every test under AddressSanitizer + UBSan
#   make run      open the viewer, training a toy model live
#   make lessons  build only the lesson programs
#   make pages    check that every program output a page quotes is still what it prints
#   make bench    training and decoding throughput next to PyTorch's, if installed (~12 min)
#   make clean    remove build/
#   make PLAIN_KERNELS=1   (after make clean) builds everything with the plain reference
#                 kernels in place of the fast ones: three-loop matrix products, the loss
#                 row with expf/logf, the simple BPE trainer (src/tensor.h explains).
#                 Slower; the results agree with the fast build to float rounding.
#
# Missing libraries are found with pkg-config; when one is missing, make installs its
# Debian package if it runs as root, and otherwise prints the one command to run.

CC      ?= cc
WARN    := -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L
ifneq ($(strip $(PLAIN_KERNELS)),)
WARN    += -DPLAIN_KERNELS
endif
# -O3 includes -O2 and vectorises the matmul inner loops; -march=native lets it use
# the widest SIMD this machine has; -ffp-contract=fast lets a*b+c become one fused
# multiply-add (ISO C mode forbids that by default); -fno-math-errno lets sqrtf and
# friends vectorise (nothing here reads errno after maths). OpenMP is optional: without
# it the pragmas vanish (make OPENMP=).
OPT     ?= -O3 -march=native -ffp-contract=fast -fno-math-errno
OPENMP  ?= -fopenmp
ifeq ($(strip $(OPENMP)),)
# Without OpenMP the `omp simd` hints still vectorise and the threading pragmas vanish.
OPENMP_FLAGS := -fopenmp-simd -Wno-unknown-pragmas
else
OPENMP_FLAGS := $(OPENMP)
endif
CFLAGS  := $(WARN) $(OPT) $(OPENMP_FLAGS) -g -Isrc
LDLIBS  := -lm
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS := $(WARN) -O1 -g $(OPENMP_FLAGS) $(SAN) -Isrc -Itests

BUILD   := build
CORE_SRC  := $(sort $(wildcard src/*.c))
CORE_OBJ  := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)
CORE_SOBJ := $(CORE_SRC:src/%.c=$(BUILD)/san/%.o)
CORE_LIB  := $(BUILD)/libtransformer.a
CORE_SLIB := $(BUILD)/libtransformer-san.a

# Every .c file in a lesson folder is one program, build/<file name without .c>.
LESSON_SRC  := $(sort $(wildcard lessons/*/*.c))
LESSON_BINS := $(addprefix $(BUILD)/,$(notdir $(LESSON_SRC:.c=)))

# Every tests/test_*.c is one cmocka test program; tests/testutil.c is shared by all.
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all lessons test run bench clean fixtures pages
all: $(CORE_LIB) lessons

lessons: $(LESSON_BINS)

# ---- dependencies ---------------------------------------------------------------
# $(call require,<pkg-config name>,<Debian package>)
define require
	@command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $(1) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(2) (needed for $(1)) with apt-get ..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pkg-config $(2) >/dev/null) \
	      || { echo "error: apt-get install $(2) failed"; exit 1; }; \
	  else \
	    echo "error: pkg-config cannot find $(1); install with: sudo apt-get install pkg-config $(2)"; exit 1; \
	  fi; }
endef

$(BUILD)/.dep-cmocka:
	$(call require,cmocka,libcmocka-dev)
	@mkdir -p $(BUILD) && touch $@

# ---- the core -------------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) Makefile | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: src/%.c $(wildcard src/*.h) Makefile | $(BUILD)/san
	$(CC) $(SANFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	ar rcs $@ $^

$(CORE_SLIB): $(CORE_SOBJ)
	ar rcs $@ $^

$(BUILD)/obj $(BUILD)/san $(BUILD)/tests:
	@mkdir -p $@

# ---- lesson programs --------------------------------------------------------------
define lesson_program
$(BUILD)/$(notdir $(1:.c=)): $(1) $(CORE_LIB) $(wildcard src/*.h)
	$$(CC) $$(CFLAGS) $$< $(CORE_LIB) $$(LDLIBS) -o $$@
endef
$(foreach f,$(LESSON_SRC),$(eval $(call lesson_program,$(f))))

# ---- tests ------------------------------------------------------------------------
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS   = $(shell pkg-config --libs cmocka)

$(BUILD)/tests/%: tests/%.c tests/testutil.c $(wildcard tests/*.h) $(CORE_SLIB) | $(BUILD)/tests $(BUILD)/.dep-cmocka
	$(CC) $(SANFLAGS) $(CMOCKA_CFLAGS) $< tests/testutil.c $(CORE_SLIB) $(CMOCKA_LIBS) $(LDLIBS) -o $@

# ---- viewer (viz/viz.mk adds its programs to all, and its tests to TEST_BINS) -------
-include viz/viz.mk

test: $(TEST_BINS) all
	@sh tests/check_layers.sh
	@sh tests/run_tests.sh $(TEST_BINS)
	@$(COURSE_ENV) sh tests/check_course.sh
	@sh tests/check_pages.sh
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/no-openmp OPENMP= $(BUILD)/no-openmp/transformer >/dev/null
	@echo "check_no_openmp: the core and build/transformer compile without OpenMP (make OPENMP=)"

# The pages' quoted outputs (tests/README.md: the <!-- make test --> marker). SLOW=1 also
# reruns the recorded whole training runs (minutes).
pages: all
	@sh tests/check_pages.sh $(if $(strip $(SLOW)),--slow)

# ---- the course: exercises generated from src/ (lessons/course.sh) ------------------
#   make exercise LESSON=NN   your skeletons in lessons/NN-*/exercises/ (git-ignored)
#   make check LESSON=NN      build with your functions, run the lesson's tests with hints
#   make watch LESSON=NN      check again every time you save
#   make solution LESSON=NN [EXERCISE=name]   the reference bodies (for teachers)
#   make reset LESSON=NN EXERCISE=name        one exercise back to its skeleton
#   make progress             every lesson: done / started / not started
#   make exercises            the list of every exercise
#   make student              build/student/transformer and build/student/transformer-viz,
#                             built with your components of every lesson you have done
#                             (PLAIN=1: your plain kernels replace the fast ones too)
COURSE_ENV = CC="$(CC)" SANFLAGS="$(SANFLAGS)" CMOCKA_CFLAGS="$(CMOCKA_CFLAGS)" \
          CMOCKA_LIBS="$(CMOCKA_LIBS)" LDLIBS="$(LDLIBS)" BUILD="$(BUILD)"
COURSE = $(COURSE_ENV) sh lessons/course.sh
.PHONY: exercise check watch solution reset progress exercises student check-course
exercise:
	@$(COURSE) exercise "$(LESSON)"
# (lesson 08's test_08_cli drives the command-line program build/transformer: built first)
check watch: $(CORE_SLIB) $(BUILD)/.dep-cmocka $(BUILD)/transformer
	@$(COURSE) $@ "$(LESSON)"
solution:
	@$(COURSE) solution "$(LESSON)" "$(EXERCISE)"
reset:
	@$(COURSE) reset "$(LESSON)" "$(EXERCISE)"
progress:
	@$(COURSE) progress
exercises:
	@$(COURSE) exercises
# The grader's own proof (also part of make test): LESSONS="04 05" limits it.
check-course: $(CORE_SLIB) $(BUILD)/.dep-cmocka $(BUILD)/transformer
	@$(COURSE_ENV) LESSONS="$(LESSONS)" sh tests/check_course.sh
# The student library is rebuilt every time (your files change without make knowing).
student: $(CORE_LIB) $(VIZ_OBJ) | $(BUILD)/.dep-sdl2
	@CFLAGS="$(CFLAGS)" STUDENT_PLAIN="$(PLAIN)" $(COURSE) student
	$(CC) $(CFLAGS) lessons/08-training/transformer.c $(BUILD)/student/libtransformer.a $(LDLIBS) -o $(BUILD)/student/transformer
	$(CC) $(CFLAGS) -pthread -Iviz $(SDL_CFLAGS) $(VIZ_MAIN) $(VIZ_OBJ) $(BUILD)/student/libtransformer.a $(SDL_LIBS) $(LDLIBS) -o $(BUILD)/student/transformer-viz
	@echo "built $(BUILD)/student/transformer and $(BUILD)/student/transformer-viz with your components; try:"
	@echo "  $(BUILD)/student/transformer-viz --task reverse"

# ---- PyTorch fixtures ---------------------------------------------------------------
# Regenerates the committed fixtures the parity tests read. Needs PyTorch
# (Debian: sudo apt-get install python3-torch); `make test` never does.
fixtures:
	@for script in tests/fixtures/gen_*.py; do echo "python3 $$script"; /usr/bin/python3 $$script || exit 1; done

clean:
	rm -rf $(BUILD)

# ---- data: the French→English toy corpus (owner: data/) ----------------------------
# `make data` rebuilds data/make_fr_en.c and rewrites data/fr-en/{train,valid,test}.tsv, and
# data/sample/*.tsv: a small corpus written as sentences (case, punctuation) for `train --train`.
# The generator is seeded, so the committed files come out byte for byte the same.
# It links only the RNG and the checked I/O, so it builds even while src/ is in flux.
.PHONY: data
$(BUILD)/make_fr_en: data/make_fr_en.c src/rng.c src/common.c src/rng.h src/common.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) data/make_fr_en.c src/rng.c src/common.c $(LDLIBS) -o $@
data: $(BUILD)/make_fr_en
	$(BUILD)/make_fr_en --out data/fr-en
	@mkdir -p data/sample
	$(BUILD)/make_fr_en --seed 7 --train 3000 --valid 200 --test 200 --written --out data/sample

# `make shipped-run-info` gives data/fr-en.ckpt (trained before checkpoints kept them) its
# run description and training word list, recomputed from the fr-en defaults, seed 1 and
# data/fr-en/train.tsv; the model's own sections stay byte for byte (data/add_run_info.c).
.PHONY: shipped-run-info
$(BUILD)/add_run_info: data/add_run_info.c $(CORE_LIB)
	$(CC) $(CFLAGS) $< $(CORE_LIB) $(LDLIBS) -o $@
shipped-run-info: $(BUILD)/add_run_info
	$(BUILD)/add_run_info data/fr-en.ckpt --task fr-en --seed 1 --data data

# ---- bench: training and decoding throughput next to PyTorch's (owner: lessons/08-training) --
# `make bench` runs lessons/08-training/bench_torch.py (the only Python make runs besides
# `make fixtures`): it checks PyTorch's BLAS; measures the sgemm peak (build/matmul_peak
# against torch.mm); alternates `build/transformer bench` (2 threads; toy also on 1) with
# the same model in PyTorch (1 and 2 threads), BENCH_RUNS rounds of BENCH_SECONDS per run;
# sweeps the width (BENCH_WIDTHS); runs toy on 2 and 1 threads next to a busy process
# (the ThreadChooser's fallback); times decoding (build/decode_bench against
# lessons/09-inference/decode_torch.py with the same weights, BENCH_DECODE_RUNS rounds)
# and the time per token against position (build/kvcache_demo); prints medians, ratios,
# peak RSS and every target of issue 13, writes them to build/bench.txt and draws
# build/bench-width.png and build/bench-position.png (build/bench-plot). About 12 min.
# Without python3 it times the C side alone.
BENCH_PYTHON ?= /usr/bin/python3
BENCH_RUNS ?= 5
BENCH_SECONDS ?= 4
BENCH_CONFIGS ?= toy,small,base
BENCH_WIDTHS ?= w64,w128,w256,w512
BENCH_DECODE_RUNS ?= 3
BENCH_PROGRAMS := $(BUILD)/transformer $(BUILD)/matmul_peak $(BUILD)/decode_bench $(BUILD)/kvcache_demo
bench: $(BENCH_PROGRAMS) $(if $(wildcard $(VIZ_MAIN)),$(BENCH_PLOT))
	@if command -v $(BENCH_PYTHON) >/dev/null 2>&1; then \
	  $(BENCH_PYTHON) lessons/08-training/bench_torch.py --c $(BUILD)/transformer \
	    --runs $(BENCH_RUNS) --seconds $(BENCH_SECONDS) --configs $(BENCH_CONFIGS) \
	    --widths "$(BENCH_WIDTHS)" --decode-runs $(BENCH_DECODE_RUNS) --out $(BUILD)/bench.txt; \
	else \
	  echo "no $(BENCH_PYTHON): C alone (for the PyTorch comparison: sudo apt-get install python3-torch libopenblas0-pthread)"; \
	  $(BUILD)/matmul_peak --threads 2 && \
	  $(BUILD)/transformer bench --threads 2 --configs $(BENCH_CONFIGS) --seconds $(BENCH_SECONDS) && \
	  $(BUILD)/decode_bench shipped && $(BUILD)/decode_bench base; \
	fi

# ---- fuzzing (owner: tests/fuzz, issue 12) -----------------------------------------------
# tests/fuzz/fuzz_NAME.c are libFuzzer targets (fuzz.h). Two builds of each:
#   make fuzz          clang -fsanitize=fuzzer,address,undefined; runs every target for
#                      FUZZ_SECONDS on a scratch copy of its corpus; a crash is written to
#                      tests/fuzz/corpus/NAME/crash-* (commit it once fixed: it is then
#                      replayed forever). Needs clang (Debian: apt-get install clang).
#   make fuzz-replay   gcc + ASan/UBSan with tests/fuzz/replay.c as main: every stored
#                      input once. `make test` runs it, so CI needs no libFuzzer.
#   make fuzz-seeds    rewrites the seed corpora from the project (tests/fuzz/make_seeds.c).
FUZZ_TARGETS := vocab checkpoint tsv roundtrip search resume
FUZZ_SECONDS ?= 60
# seconds one input may take before libFuzzer calls it a hang
FUZZ_TIMEOUT ?= 20
FUZZ_CC      ?= clang
FUZZ_SHARED  := tests/fuzz/fuzz_util.c tests/fuzz/fuzz.h
FUZZ_REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay/fuzz_%)
FUZZ_BINS        := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
.PHONY: fuzz fuzz-replay fuzz-seeds

$(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_SHARED) $(CORE_SLIB)
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -Itests/fuzz -DFUZZ_CORPUS='"tests/fuzz/corpus/$*"' $< tests/fuzz/replay.c \
	  tests/fuzz/fuzz_util.c $(CORE_SLIB) $(LDLIBS) -o $@

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@for t in $(FUZZ_REPLAY_BINS); do $$t || exit 1; done

test: fuzz-replay

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SHARED) $(CORE_SRC) $(wildcard src/*.h)
	@command -v $(FUZZ_CC) >/dev/null || { echo "error: make fuzz needs clang; install with: sudo apt-get install clang"; exit 1; }
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -Isrc -Itests/fuzz $< tests/fuzz/fuzz_util.c $(CORE_SRC) -lm -o $@

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/work-$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/corpus/$$t/crash- $(BUILD)/fuzz/work-$$t tests/fuzz/corpus/$$t \
	    2>&1 | grep -E "^(stat::|#[0-9]+[[:space:]]+DONE|==|SUMMARY|.*fuzz check failed)" || exit 1; \
	done

$(BUILD)/fuzz_make_seeds: tests/fuzz/make_seeds.c $(CORE_LIB)
	$(CC) $(CFLAGS) $< $(CORE_LIB) $(LDLIBS) -o $@

fuzz-seeds: $(BUILD)/fuzz_make_seeds
	$(BUILD)/fuzz_make_seeds

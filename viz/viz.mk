# viz/viz.mk: the SDL2 viewer, build/transformer-viz, and its tests. Included by the
# top-level Makefile before its test rule; uses its variables (CC, CFLAGS, SANFLAGS,
# BUILD, CORE_LIB, CORE_SLIB, TEST_BINS) and its `require` macro.
#
#   make                 also builds build/transformer-viz
#   make run             builds everything, then trains fr-en live in the viewer
#   make test            also runs tests/test_09_viewer*.c (headless, no display needed)

VIZ_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
VIZ_PROBE ?= je suis étudiant
VIZ_TASK ?= fr-en

# Recursive (=) so pkg-config runs after the stamp rule below has installed the packages.
SDL_CFLAGS = $(shell pkg-config --cflags sdl2 SDL2_ttf)
SDL_LIBS   = $(shell pkg-config --libs sdl2 SDL2_ttf)

# Every viz/*.c except the program's main is a viewer module the tests link too.
VIZ_MAIN    := viz/main.c
VIZ_MOD_SRC := $(filter-out $(VIZ_MAIN),$(sort $(wildcard viz/*.c)))
VIZ_OBJ     := $(VIZ_MOD_SRC:viz/%.c=$(BUILD)/viz/%.o)
VIZ_SOBJ    := $(VIZ_MOD_SRC:viz/%.c=$(BUILD)/viz-san/%.o)
VIZ_HDR      = $(wildcard viz/*.h) $(wildcard src/*.h)
# The drawing side alone (no training thread): what the pixel test links.
VIZ_DRAW_SOBJ := $(BUILD)/viz-san/draw.o $(BUILD)/viz-san/png.o $(BUILD)/viz-san/snapshot.o $(BUILD)/viz-san/input.o $(BUILD)/viz-san/replay.o

# SDL2, SDL2_ttf and the DejaVu font: installed when make runs as root, otherwise the
# command to run is printed.
$(BUILD)/.dep-sdl2:
	$(call require,sdl2 SDL2_ttf,libsdl2-dev libsdl2-ttf-dev)
	@test -f $(VIZ_FONT) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing fonts-dejavu-core (the viewer's font) with apt-get ..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null) \
	      || { echo "error: apt-get install fonts-dejavu-core failed"; exit 1; }; \
	  else \
	    echo "error: $(VIZ_FONT) is missing; install it with: sudo apt-get install fonts-dejavu-core"; exit 1; \
	  fi; }
	@mkdir -p $(BUILD) && touch $@

ifneq ($(wildcard $(VIZ_MAIN)),)
all: $(BUILD)/transformer-viz
endif
viz: $(BUILD)/transformer-viz
.PHONY: viz

$(BUILD)/viz/%.o: viz/%.c $(VIZ_HDR) | $(BUILD)/.dep-sdl2
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -Iviz $(SDL_CFLAGS) -c $< -o $@

$(BUILD)/viz-san/%.o: viz/%.c $(VIZ_HDR) | $(BUILD)/.dep-sdl2
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -pthread -Iviz $(SDL_CFLAGS) -c $< -o $@

$(BUILD)/transformer-viz: $(VIZ_MAIN) $(VIZ_OBJ) $(CORE_LIB) $(VIZ_HDR) | $(BUILD)/.dep-sdl2
	$(CC) $(CFLAGS) -pthread -Iviz $(SDL_CFLAGS) $(VIZ_MAIN) $(VIZ_OBJ) $(CORE_LIB) $(SDL_LIBS) $(LDLIBS) -o $@

# `make run`: everything, then the viewer training the fr-en task live on the paper's
# example sentence while the window plays the shipped recording of a whole run
# (data/fr-en.history) with the live model in an inset beside it (r or a click on the
# inset shows the live model full size).
run: all
	./$(BUILD)/transformer-viz --task $(VIZ_TASK) --probe "$(VIZ_PROBE)" --replay data/$(VIZ_TASK).history

# The viewer's tests need SDL and the viewer modules (sanitized), so they get explicit
# rules, which take precedence over the generic tests/test_%.c rule.
VIZ_TESTS := $(BUILD)/tests/test_09_viewer $(BUILD)/tests/test_09_viewer_exchange
TEST_BINS := $(filter-out $(VIZ_TESTS),$(TEST_BINS)) $(VIZ_TESTS)

$(BUILD)/tests/test_09_viewer: tests/test_09_viewer.c $(VIZ_DRAW_SOBJ) tests/testutil.c tests/testutil.h $(CORE_SLIB) | $(BUILD)/tests $(BUILD)/.dep-cmocka $(BUILD)/.dep-sdl2
	$(CC) $(SANFLAGS) -pthread -Iviz $(SDL_CFLAGS) $(CMOCKA_CFLAGS) $< tests/testutil.c $(VIZ_DRAW_SOBJ) $(CORE_SLIB) $(SDL_LIBS) $(CMOCKA_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/test_09_viewer_exchange: tests/test_09_viewer_exchange.c $(BUILD)/viz-san/snapshot.o $(BUILD)/viz-san/worker.o tests/testutil.c tests/testutil.h $(CORE_SLIB) | $(BUILD)/tests $(BUILD)/.dep-cmocka $(BUILD)/.dep-sdl2
	$(CC) $(SANFLAGS) -pthread -Iviz $(CMOCKA_CFLAGS) $< tests/testutil.c $(BUILD)/viz-san/snapshot.o $(BUILD)/viz-san/worker.o $(CORE_SLIB) $(CMOCKA_LIBS) $(LDLIBS) -o $@

# build/bench-plot: the line charts of `make bench` (tokens/s against width, time per
# token against position), drawn headless with SDL's software renderer into a PNG
# (viz/plot/bench_plot.c, no window and no display needed).
BENCH_PLOT := $(BUILD)/bench-plot
ifneq ($(wildcard $(VIZ_MAIN)),)
all: $(BENCH_PLOT)
endif
$(BENCH_PLOT): viz/plot/bench_plot.c $(BUILD)/viz/png.o $(CORE_LIB) viz/png.h src/common.h | $(BUILD)/.dep-sdl2
	$(CC) $(CFLAGS) -Iviz $(SDL_CFLAGS) -DVIZ_FONT_PATH='"$(VIZ_FONT)"' $< $(BUILD)/viz/png.o $(CORE_LIB) $(SDL_LIBS) $(LDLIBS) -o $@

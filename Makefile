# dffmpeg — plain Makefile.  Every library comes through pkg-config; a
# missing one is installed from Debian's packages when running as root, or
# named with the exact apt-get line otherwise (scripts/deps.sh).

PKGS	 = libevent libcjson sqlite3 libsodium yaml-0.1 libmosquitto
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
OPT	?= -O2 -g
SAN	?=
BUILD	?= build/default
# Where the binary goes: ./dffmpeg for the normal build.
BIN	?= dffmpeg

WARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS	+= -std=c11 $(OPT) $(WARN) $(SAN) -Iinclude -D_GNU_SOURCE \
	   -fno-strict-aliasing
# Recursively expanded on purpose: evaluated after the deps check ran.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lm
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

CORE_SRC  = $(wildcard src/*.c)
APPL_SRC  = $(wildcard src/applets/*.c)
LIB_SRC   = $(filter-out src/main.c,$(CORE_SRC)) $(APPL_SRC)
# The dashboard and any other file of src/web/, built in as C arrays.
WEB_FILES = src/web/dashboard.html
WEB_OBJ   = $(BUILD)/gen/web.o
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o) $(WEB_OBJ)
MAIN_OBJ  = $(BUILD)/src/main.o
LIB	  = $(BUILD)/libdffmpeg.a

UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

DEPS_STAMP = $(BUILD)/.deps-build
TEST_STAMP = $(BUILD)/.deps-test

.PHONY: all check unit integration asan demo bench install uninstall clean \
	deps valgrind screenshot fuzz check-brokers

all: $(BIN)

$(DEPS_STAMP):
	@scripts/deps.sh build
	@mkdir -p $(@D) && touch $@

$(TEST_STAMP): $(DEPS_STAMP)
	@scripts/deps.sh test
	@touch $@

deps: $(DEPS_STAMP)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/web.c: $(WEB_FILES) scripts/embed.sh
	@mkdir -p $(@D)
	scripts/embed.sh web_dashboard src/web/dashboard.html >$@.tmp
	@mv $@.tmp $@

$(WEB_OBJ): $(BUILD)/gen/web.c | $(DEPS_STAMP)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB) | $(TEST_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -o $@ $< \
	    $(LIB) $(PKG_LIBS) $(CHECK_LIBS) $(LDFLAGS)

# The README's test command: unit tests, then integration tests against a
# private broker, real coordinator/worker/client processes and real ffmpeg.
check: unit integration

unit: $(UNIT_BIN) | $(TEST_STAMP)
	@tests/run-unit.sh $(UNIT_BIN)

integration: $(BIN) | $(TEST_STAMP)
	@DFFMPEG=$(abspath $(BIN)) tests/run-integration.sh

# Against other brokers (tests/brokers/): a three-node RabbitMQ cluster with
# its MQTT plugin.  RabbitMQ is installed when missing (as root); a test
# that cannot start it says so and is skipped.
check-brokers: $(BIN) | $(TEST_STAMP)
	-@scripts/deps.sh brokers
	@DFFMPEG=$(abspath $(BIN)) TESTS=tests/brokers TEST_TIMEOUT=300 \
	    tests/run-integration.sh

# The whole suite with AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build/asan BIN=build/asan/dffmpeg OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    check

# libFuzzer harnesses (clang), each run for FUZZ_S seconds from its corpus
# in tests/fuzz/corpus/; what they find new stays out of the tree.
FUZZ_S	?= 10
FUZZ_NAMES = msg frame config ffargs
FUZZ_BIN  = $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_STAMP = $(BUILD)/.deps-fuzz

$(FUZZ_STAMP):
	@scripts/deps.sh fuzz
	@mkdir -p $(@D) && touch $@

fuzz: | $(FUZZ_STAMP)
	$(MAKE) BUILD=build/fuzz BIN=build/fuzz/dffmpeg CC=clang OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    fuzz-build
	@tests/fuzz/run.sh $(FUZZ_S) build/fuzz/fuzz $(FUZZ_NAMES)

fuzz-build: $(FUZZ_BIN)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) \
	    $(PKG_LIBS) $(LDFLAGS)

# Unit tests under valgrind's leak checker.
valgrind: $(UNIT_BIN) | $(TEST_STAMP)
	@VALGRIND=1 tests/run-unit.sh $(UNIT_BIN)

# docs/dashboard.png: the dashboard as t_http sees it, a job running.
screenshot: $(BIN) | $(TEST_STAMP)
	@mkdir -p docs
	@DFFMPEG=$(abspath $(BIN)) SCREENSHOT=$(abspath docs/dashboard.png) \
	    ONLY=t_http tests/run-integration.sh

demo: $(BIN) | $(TEST_STAMP)
	@DFFMPEG=$(abspath $(BIN)) scripts/demo.sh

bench: $(BIN) $(BUILD)/bench/rss $(BUILD)/bench/loadgen | $(TEST_STAMP)
	@DFFMPEG=$(abspath $(BIN)) RSS=$(abspath $(BUILD)/bench/rss) \
	    LOADGEN=$(abspath $(BUILD)/bench/loadgen) bench/run.sh

$(BUILD)/bench/rss: bench/rss.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# Simulated workers and clients for the coordinator's part of the bench.
$(BUILD)/bench/loadgen: bench/loadgen.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(LDFLAGS)

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/dffmpeg
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.7 $(DESTDIR)$(MANDIR)/man7/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dffmpeg
	cd man && for m in *.1 *.5 *.7; do \
	    rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done

clean:
	rm -rf build dffmpeg

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)

# Makefile - build, test, install Beacon (GNU make).
#
#   make                 build beacon-milter, beacon-pixelsrv, beaconctl into build/
#   make check           install missing packages, build with ASan+UBSan into
#                        build/asan/ and run every test (tests/run.sh)
#   make demo            the whole pipeline end to end on this machine
#   make bench           side-by-side benchmarks (QUICK=1 for a smoke run)
#   make fuzz            every libFuzzer target for FUZZ_SECONDS each
#   make install         PREFIX=/usr/local DESTDIR= honoured
#   V=1                  show every command
#   make deps            install the Debian packages the build and tests need
#
# Sources are found by directory: lib/*.c is libbeacon.a; each program's
# directory holds its main.c; tests/unit/test_*.c are cmocka programs.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share/beacon
SYSCONFDIR ?= /etc/beacon
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
PKG_CONFIG ?= pkg-config
SANITIZER ?=
WERROR    ?=
FUZZ_SECONDS ?= 60
V         ?=
Q          = $(if $(V),,@)
VERSION   := 0.1.0

PKGS      := gmime-3.0 milter libpq libmaxminddb libmicrohttpd libsodium inih yaml-0.1 libpcre2-8
WARN      := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter $(if $(WERROR),-Werror)
SANFLAGS  := $(if $(SANITIZER),-fsanitize=$(SANITIZER) -fno-sanitize-recover=all -fno-omit-frame-pointer)
OPT       := $(if $(SANITIZER),-O1 -g,-O2 -g)
CFLAGS    ?= $(OPT)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=gnu11 -DBEACON_VERSION='"$(VERSION)"' $(WARN) $(SANFLAGS) $(CFLAGS) \
             -DBEACON_DATADIR='"$(DATADIR)"' -DBEACON_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -Ilib $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS       = $(PKG_LIBS) -lpthread -lm

LIB_SRC      := $(wildcard lib/*.c)
MILTER_SRC   := $(wildcard milter/*.c)
PIXELSRV_SRC := $(wildcard pixelsrv/*.c)
CTL_SRC      := $(wildcard ctl/*.c)
TEST_SRC     := $(wildcard tests/unit/test_*.c)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ      := $(call obj,$(LIB_SRC))
MILTER_OBJ   := $(call obj,$(MILTER_SRC))
PIXELSRV_OBJ := $(call obj,$(PIXELSRV_SRC))
CTL_OBJ      := $(call obj,$(CTL_SRC))
# every object but the mains, one archive per program: unit tests and fuzz
# targets link with these and pull in only the modules they use
MODULE_OBJ   := $(filter-out %/main.o,$(MILTER_OBJ) $(PIXELSRV_OBJ) $(CTL_OBJ))
MODULE_LIBS  := $(BUILD)/milter/modules.a $(BUILD)/pixelsrv/modules.a $(BUILD)/ctl/modules.a
TEST_BIN     := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(TEST_SRC))
PROGS        := $(BUILD)/beacon-milter $(BUILD)/beacon-pixelsrv $(BUILD)/beaconctl

.SECONDARY:
.PHONY: all tests check check-build demo bench fuzz fuzz-build deps install clean lint-man

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  CC      $<')
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libbeacon.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/%/modules.a: $(MODULE_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $(filter $(BUILD)/$*/%,$(MODULE_OBJ))

$(BUILD)/beacon-milter: $(MILTER_OBJ) $(BUILD)/libbeacon.a
	@$(if $(V),,echo '  LINK    $@')
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/beacon-pixelsrv: $(PIXELSRV_OBJ) $(BUILD)/libbeacon.a
	@$(if $(V),,echo '  LINK    $@')
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/beaconctl: $(CTL_OBJ) $(BUILD)/libbeacon.a
	@$(if $(V),,echo '  LINK    $@')
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(MODULE_LIBS) $(BUILD)/libbeacon.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  TEST    $@')
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -Wl,--start-group $(MODULE_LIBS) $(BUILD)/libbeacon.a -Wl,--end-group \
		$(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

tests: $(PROGS) $(TEST_BIN)

deps:
	@contrib/deps.sh

# check: the README's test command.  Sanitizers on; a sanitizer report fails the run.
check: deps
	$(MAKE) BUILD=build/asan SANITIZER=address,undefined tests
	$(MAKE) BUILD=build/fuzz fuzz-build
	BEACON_BUILD=$(CURDIR)/build/asan BEACON_FUZZ=$(CURDIR)/build/fuzz tests/run.sh $(T)

demo: deps all
	BEACON_BUILD=$(CURDIR)/$(BUILD) tests/demo/demo.sh

bench: deps all $(MODULE_LIBS) $(BUILD)/libbeacon.a
	BEACON_BUILD=$(CURDIR)/$(BUILD) QUICK=$(QUICK) tests/bench/run.sh

# libFuzzer targets: clang, every module object rebuilt with coverage + ASan/UBSan
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
fuzz-build:
	$(MAKE) BUILD=$(BUILD) CC=$(CLANG) SANITIZER= CFLAGS="$(FUZZ_CFLAGS)" \
		$(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(MODULE_LIBS) $(BUILD)/libbeacon.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  FUZZ    $@')
	$(Q)$(CLANG) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		-Wl,--start-group $(MODULE_LIBS) $(BUILD)/libbeacon.a -Wl,--end-group $(LIBS)

fuzz: deps
	$(MAKE) BUILD=build/fuzz fuzz-build
	BEACON_FUZZ=$(CURDIR)/build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/sql/schema $(DESTDIR)$(DATADIR)/sql/reports \
		$(DESTDIR)$(DATADIR)/contrib
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7/
	install -m 644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(wildcard sql/schema/*.sql) $(DESTDIR)$(DATADIR)/sql/schema/
	install -m 644 $(wildcard sql/reports/*.sql sql/reports/*.psql) $(DESTDIR)$(DATADIR)/sql/reports/
	install -m 644 $(wildcard pixelsrv/*.yaml) $(DESTDIR)$(DATADIR)/
	cp -R contrib/. $(DESTDIR)$(DATADIR)/contrib/

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Makefile - build, test, install and package Beacon (GNU make).
#
#   make                 build beacon-milter, beacon-pixelsrv, beacon-notify, beacon-web,
#                        beaconctl into build/
#   make check           install missing packages, build with ASan+UBSan into
#                        build/asan/ and run every test (tests/run.sh; T=PATTERN
#                        for some, CHECK_JOBS=N tests at once, default 2)
#   make demo            the whole pipeline end to end on this machine
#   make bench           side-by-side benchmarks (QUICK=1 for a smoke run)
#   make fuzz            every libFuzzer target for FUZZ_SECONDS each
#   make install         DESTDIR, PREFIX (/usr/local), BINDIR (PREFIX/sbin), DATADIR
#                        (PREFIX/share/beacon), MANDIR, SYSCONFDIR (/etc/beacon) and
#                        UNITDIR (PREFIX/lib/systemd/system) honoured
#   make deb             build/deb/beacon_<version>_amd64.deb (debian/), lintian-checked
#   make check-fresh     the README's commands and the .deb on fresh Debian roots (root)
#   make deps            install the Debian packages the build and tests need
#   make deps-deb        install only what make deb needs
#   V=1 WERROR=1         show every command; warnings are errors
#
# Sources are found by directory: lib/*.c is libbeacon.a; each program's
# directory holds its main.c; tests/unit/test_*.c are cmocka programs.
#
# Library flags come from pkg-config, asked when a recipe first needs them
# and never while this file is read: `make demo` and `make check` install
# the packages (make deps) and then build in a second make, so that one
# invocation works on a machine that had none of them.  A missing .pc file
# stops the build at once with the name of the Debian package to install.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share/beacon
SYSCONFDIR ?= /etc/beacon
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
CLANG     ?= clang
PKG_CONFIG ?= pkg-config
SANITIZER ?=
WERROR    ?=
FUZZ_SECONDS ?= 60
V         ?=
yes       = $(filter 1 yes,$(1))
Q          = $(if $(call yes,$(V)),,@)
VERSION   := 0.1.0

# pkg-config modules per program (lib/ is linked into all three), and the
# Debian package that ships each module's .pc file
LIB_PKGS      := libpq libsodium inih libidn2
MILTER_PKGS   := $(LIB_PKGS) gmime-3.0 milter
PIXELSRV_PKGS := $(LIB_PKGS) libmicrohttpd libmaxminddb yaml-0.1 libpcre2-8
CTL_PKGS      := $(LIB_PKGS) glib-2.0
NOTIFY_PKGS   := $(LIB_PKGS) libcurl
WEB_PKGS      := $(LIB_PKGS) libmicrohttpd
ALL_PKGS      := $(sort $(MILTER_PKGS) $(PIXELSRV_PKGS) $(CTL_PKGS) $(NOTIFY_PKGS) $(WEB_PKGS))
TEST_PKGS     := $(ALL_PKGS) cmocka
deb_of.libpq         := libpq-dev
deb_of.libsodium     := libsodium-dev
deb_of.libidn2       := libidn2-dev
deb_of.inih          := libinih-dev
deb_of.gmime-3.0     := libgmime-3.0-dev
deb_of.glib-2.0      := libglib2.0-dev
deb_of.milter        := libmilter-dev
deb_of.libmicrohttpd := libmicrohttpd-dev
deb_of.libmaxminddb  := libmaxminddb-dev
deb_of.yaml-0.1      := libyaml-dev
deb_of.libpcre2-8    := libpcre2-dev
deb_of.cmocka        := libcmocka-dev
deb_of.libcurl       := libcurl4-openssl-dev

# $(call pc,--cflags|--libs,MODULES): pkg-config's answer, asked once per
# run: $(call pc,--libs,libpq inih) defines pc--libs_libpq_inih on first use
empty :=
space := $(empty) $(empty)
pc_key = pc$(subst $(space),_,$(strip $(1) $(2)))
pc = $(if $(filter undefined,$(origin $(call pc_key,$(1),$(2)))),$(eval \
	$(call pc_key,$(1),$(2)) := $(shell $(PKG_CONFIG) $(1) $(2))))$($(call pc_key,$(1),$(2)))

WARN      := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter $(if $(call yes,$(WERROR)),-Werror)
SANFLAGS  := $(if $(SANITIZER),-fsanitize=$(SANITIZER) -fno-sanitize-recover=all -fno-omit-frame-pointer)
OPT       := $(if $(SANITIZER),-O1 -g,-O2 -g)
CFLAGS    ?= $(OPT)
# the modules whose headers an object includes: set per directory below
OBJ_PKGS   = $(ALL_PKGS)
ALL_CFLAGS = -std=gnu11 -DBEACON_VERSION='"$(VERSION)"' $(WARN) $(SANFLAGS) $(CFLAGS) \
             -DBEACON_DATADIR='"$(DATADIR)"' -DBEACON_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -Ilib $(CPPFLAGS) $(call pc,--cflags,$(OBJ_PKGS)) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)
SYS_LIBS   = -lpthread -lm

LIB_SRC      := $(wildcard lib/*.c)
MILTER_SRC   := $(wildcard milter/*.c)
PIXELSRV_SRC := $(wildcard pixelsrv/*.c)
CTL_SRC      := $(wildcard ctl/*.c)
NOTIFY_SRC   := $(wildcard notify/*.c)
WEB_SRC      := $(wildcard web/*.c)
TEST_SRC     := $(wildcard tests/unit/test_*.c)
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ      := $(call obj,$(LIB_SRC))
MILTER_OBJ   := $(call obj,$(MILTER_SRC))
PIXELSRV_OBJ := $(call obj,$(PIXELSRV_SRC))
CTL_OBJ      := $(call obj,$(CTL_SRC))
NOTIFY_OBJ   := $(call obj,$(NOTIFY_SRC))
WEB_OBJ      := $(call obj,$(WEB_SRC))
# every object but the mains, one archive per program: unit tests and fuzz
# targets link with these and pull in only the modules they use
MODULE_OBJ   := $(filter-out %/main.o,$(MILTER_OBJ) $(PIXELSRV_OBJ) $(CTL_OBJ) $(NOTIFY_OBJ) $(WEB_OBJ))
MODULE_LIBS  := $(BUILD)/milter/modules.a $(BUILD)/pixelsrv/modules.a $(BUILD)/ctl/modules.a \
                $(BUILD)/notify/modules.a $(BUILD)/web/modules.a
TEST_BIN     := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(TEST_SRC))
PROGS        := $(BUILD)/beacon-milter $(BUILD)/beacon-pixelsrv $(BUILD)/beaconctl \
                $(BUILD)/beacon-notify $(BUILD)/beacon-web

$(BUILD)/lib/%.o:      OBJ_PKGS = $(LIB_PKGS)
$(BUILD)/milter/%.o:   OBJ_PKGS = $(MILTER_PKGS)
$(BUILD)/pixelsrv/%.o: OBJ_PKGS = $(PIXELSRV_PKGS)
$(BUILD)/ctl/%.o:      OBJ_PKGS = $(CTL_PKGS)
$(BUILD)/notify/%.o:   OBJ_PKGS = $(NOTIFY_PKGS)
$(BUILD)/web/%.o:      OBJ_PKGS = $(WEB_PKGS)
$(BUILD)/ctl/reclassify.o: OBJ_PKGS = $(PIXELSRV_PKGS)
$(BUILD)/ctl/reclassify.o: CPPFLAGS += -Ipixelsrv
$(BUILD)/tests/%:      OBJ_PKGS = $(TEST_PKGS)
$(BUILD)/tests/fuzz/%: OBJ_PKGS = $(ALL_PKGS)

.SECONDARY:
.PHONY: all tests check check-build check-fresh demo bench fuzz fuzz-build deps deps-deb \
	install deb clean lint-man pkg-check pkg-check-tests

all: $(PROGS)

# pkg-check: every module the programs need has its .pc, or stop here
# naming the Debian packages that provide the missing ones
pkg-check:
	$(call pkg_check,$(ALL_PKGS))
pkg-check-tests:
	$(call pkg_check,$(TEST_PKGS))
pkg_check = @command -v $(PKG_CONFIG) >/dev/null || { \
	echo "$(PKG_CONFIG) not found: install the Debian package pkg-config (make deps)" >&2; exit 1; }; \
	missing=; for m in $(foreach m,$(1),$(m):$(deb_of.$(m))); do \
		$(PKG_CONFIG) --exists "$${m%%:*}" || missing="$$missing $$m"; done; \
	if [ -n "$$missing" ]; then \
		for m in $$missing; do echo "missing library: no $${m%%:*}.pc (Debian package $${m\#*:})" >&2; done; \
		echo "install them with: make deps (as root), or apt-get install$$(for m in $$missing; do printf ' %s' "$${m\#*:}"; done)" >&2; \
		exit 1; fi

# The install paths are compiled in (lib/paths.h): objects are rebuilt
# when they change, so `make` then `make install PREFIX=/usr` agree.
PATHS_NOW := $(DATADIR) $(SYSCONFDIR) $(VERSION)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/paths 2>/dev/null)" = '$(PATHS_NOW)' ] || \
	echo '$(PATHS_NOW)' >$(BUILD)/paths; })
endif

$(BUILD)/%.o: %.c $(BUILD)/paths | pkg-check
	@mkdir -p $(dir $@)
	@$(if $(call yes,$(V)),,echo '  CC      $<')
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libbeacon.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/%/modules.a: $(MODULE_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $(filter $(BUILD)/$*/%,$(MODULE_OBJ))

# link: $(1) the objects, $(2) the pkg-config modules
link = @$(if $(call yes,$(V)),,echo '  LINK    $@'); \
	$(CC) $(ALL_LDFLAGS) -o $@ $(1) $(call pc,--libs,$(2)) $(SYS_LIBS)

$(BUILD)/beacon-milter: $(MILTER_OBJ) $(BUILD)/libbeacon.a
	$(call link,$^,$(MILTER_PKGS))

$(BUILD)/beacon-pixelsrv: $(PIXELSRV_OBJ) $(BUILD)/libbeacon.a
	$(call link,$^,$(PIXELSRV_PKGS))

$(BUILD)/beacon-notify: $(NOTIFY_OBJ) $(BUILD)/libbeacon.a
	$(call link,$^,$(NOTIFY_PKGS))

$(BUILD)/beacon-web: $(WEB_OBJ) $(BUILD)/libbeacon.a
	$(call link,$^,$(WEB_PKGS))

# reclassify runs beacon-pixelsrv's class rules: it links their modules
$(BUILD)/beaconctl: $(CTL_OBJ) $(BUILD)/pixelsrv/modules.a $(BUILD)/libbeacon.a
	$(call link,$^,$(CTL_PKGS) $(PIXELSRV_PKGS))

# unit tests and fuzz targets include the headers of the programs they test
TEST_INC := -Imilter -Ipixelsrv -Ictl -Inotify -Iweb
$(BUILD)/tests/unit/%: tests/unit/%.c $(MODULE_LIBS) $(BUILD)/libbeacon.a | pkg-check-tests
	@mkdir -p $(dir $@)
	@$(if $(call yes,$(V)),,echo '  TEST    $@')
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_INC) $(ALL_LDFLAGS) -o $@ $< -Wl,--start-group $(MODULE_LIBS) $(BUILD)/libbeacon.a -Wl,--end-group \
		$(call pc,--libs,$(TEST_PKGS)) $(SYS_LIBS)

# test_lib_malloc_tune runs this probe: built without sanitizers, so glibc's
# malloc is the one at work even when the test itself runs under ASan
$(BUILD)/tests/unit/malloc_tune_probe: tests/unit/malloc_tune_probe.c lib/malloc_tune.c lib/malloc_tune.h
	@mkdir -p $(dir $@)
	@$(if $(call yes,$(V)),,echo '  PROBE   $@')
	$(Q)$(CC) -std=gnu11 $(WARN) $(filter-out -fsanitize=%,$(CFLAGS)) $(CPPFLAGS) -Ilib \
		$(filter-out -fsanitize=%,$(LDFLAGS)) -o $@ tests/unit/malloc_tune_probe.c lib/malloc_tune.c -lpthread
$(BUILD)/tests/unit/test_lib_malloc_tune: $(BUILD)/tests/unit/malloc_tune_probe

tests: $(PROGS) $(TEST_BIN)

deps:
	@contrib/deps.sh

deps-deb:
	@contrib/deps.sh deb


# The targets below install what they need, then build in a second make:
# this make read pkg-config's answers before the packages were there.

# check: the README's test command.  Sanitizers on; a sanitizer report fails the run.
check: deps
	$(MAKE) BUILD=build/asan SANITIZER=address,undefined tests
	$(MAKE) BUILD=build/fuzz fuzz-build
	BEACON_BUILD=$(CURDIR)/build/asan BEACON_FUZZ=$(CURDIR)/build/fuzz tests/run.sh $(T)

demo: deps
	$(MAKE) BUILD=$(BUILD) all
	BEACON_BUILD=$(CURDIR)/$(BUILD) tests/demo/demo.sh

bench: deps
	$(MAKE) BUILD=$(BUILD) all $(MODULE_LIBS) $(BUILD)/libbeacon.a
	BEACON_BUILD=$(CURDIR)/$(BUILD) QUICK=$(QUICK) tests/bench/run.sh

# libFuzzer targets: clang, every module object rebuilt with coverage + ASan/UBSan
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
fuzz-build:
	$(MAKE) BUILD=$(BUILD) CC=$(CLANG) SANITIZER= CFLAGS="$(FUZZ_CFLAGS)" \
		$(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRC))

$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(MODULE_LIBS) $(BUILD)/libbeacon.a | pkg-check
	@mkdir -p $(dir $@)
	@$(if $(call yes,$(V)),,echo '  FUZZ    $@')
	$(Q)$(CLANG) $(ALL_CFLAGS) $(TEST_INC) -fsanitize=fuzzer,address,undefined -o $@ $< \
		-Wl,--start-group $(MODULE_LIBS) $(BUILD)/libbeacon.a -Wl,--end-group \
		$(call pc,--libs,$(ALL_PKGS)) $(SYS_LIBS)

fuzz: deps
	$(MAKE) BUILD=build/fuzz fuzz-build
	BEACON_FUZZ=$(CURDIR)/build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# install: paths inside the manual pages, the systemd units and the
# default configuration follow PREFIX, BINDIR, DATADIR and SYSCONFDIR.  An
# existing beacon.conf is never overwritten (the new one goes beside it as
# beacon.conf.new).
SUBST = sed -e 's|/usr/local/share/beacon|$(DATADIR)|g' -e 's|/usr/local/sbin|$(BINDIR)|g' \
	-e 's|/etc/beacon|$(SYSCONFDIR)|g'
CONTRIB_DOCS := postfix sendmail nginx haproxy
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/sql/schema $(DESTDIR)$(DATADIR)/sql/reports \
		$(DESTDIR)$(DATADIR)/contrib $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	for p in $(wildcard man/*.[578]); do \
		$(SUBST) $$p >$(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/} || exit 1; done
	install -m 644 $(wildcard sql/schema/*.sql) $(DESTDIR)$(DATADIR)/sql/schema/
	install -m 644 $(wildcard sql/reports/*.sql sql/reports/*.psql) $(DESTDIR)$(DATADIR)/sql/reports/
	install -D -m 644 -t $(DESTDIR)$(DATADIR)/sql/citus $(wildcard sql/citus/*.sql)
	install -m 644 $(wildcard pixelsrv/*.yaml) $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(DATADIR)/web
	$(if $(wildcard web/static/*),install -m 644 $(wildcard web/static/*) $(DESTDIR)$(DATADIR)/web/)
	for f in $(wildcard $(CONTRIB_DOCS:%=contrib/%/*)); do \
		install -D -m 644 $$f $(DESTDIR)$(DATADIR)/$$f || exit 1; done
	for u in contrib/systemd/*.service; do \
		$(SUBST) $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	conf=$(DESTDIR)$(SYSCONFDIR)/beacon.conf; [ -e $$conf ] && conf=$$conf.new; \
		$(SUBST) contrib/beacon.conf >$$conf && chmod 644 $$conf

# deb: the Debian package (and its -dbgsym), built with debhelper from
# debian/ into build/deb/; dpkg-buildpackage works too and writes to ../
deb: deps-deb
	dpkg-checkbuilddeps
	rm -rf build/deb build/debian
	debian/rules build
	BEACON_DEB_DIR=$(CURDIR)/build/deb fakeroot debian/rules binary
	lintian --fail-on error build/deb/beacon_$(VERSION)_amd64.deb

# check-fresh: make demo and make check in a fresh Debian root made with
# mmdebstrap, and the .deb installed there by apt (about 15 minutes)
check-fresh: deb
	@contrib/deps.sh fresh
	tests/fresh/run.sh

clean:
	rm -rf build debian/beacon debian/.debhelper debian/files debian/*.substvars debian/*.debhelper.log debian/debhelper-build-stamp

# the compilers' dependency files (not the Sendmail tree the tests unpack under build/asan)
-include $(shell find $(BUILD) -name sendmail -prune -o -type f -name '*.d' -print 2>/dev/null)

# mfa-sweeper: one non-recursive Makefile.
#
#   make                  build the sweeper and every plugin into build/
#   make check            install missing packages, build, run every test
#   make check SANITIZE=address,undefined
#   make demo             run the sweeper on a throwaway PostgreSQL
#   make bench            benchmark against plain DELETEs (SCALES="S M L",
#                         SCENARIOS="bulk scoped" for a subset, RUNS=3)
#   make fuzz             run every libFuzzer target FUZZ_SECONDS each (clang)
#   make chaos            fault trials (TRIALS=200), the table at the end
#   make install          PREFIX=/usr/local DESTDIR= (SYSTEMDUNITDIR=$(PREFIX)/lib/systemd/system)
#   make uninstall        remove what make install installed, and nothing else
#   make deb              mfa-sweeper and mfa-sweeper-dev .debs in build-deb/
#                         (doc/packaging.md)
#   make deps             apt-get install what is missing (Debian 12)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SYSCONFDIR ?= /etc
PLUGINDIR ?= $(LIBDIR)/mfa-sweeper/plugins
# The plugin SDK: the pkg-config file plugin authors build with, and the
# example plugins' sources (mfa-sweeper-plugin(7)).
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DOCDIR ?= $(PREFIX)/share/doc/mfa-sweeper
EXAMPLESDIR ?= $(DOCDIR)/examples
# The example config and cron file: next to the operator's config by
# default; a package puts them under /usr/share/doc, as Debian policy
# wants, since a file it shipped in /etc would be a conffile.
CONFEXAMPLEDIR ?= $(SYSCONFDIR)/mfa-sweeper
MANDIR ?= $(PREFIX)/share/man
# /usr/local/lib/systemd/system and /usr/lib/systemd/system are both on
# systemd's unit search path.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC ?= cc
CXX ?= g++
PKG_CONFIG ?= pkg-config
SANITIZE ?=

# Sanitized objects must not mix with plain ones: they get their own tree.
ifeq ($(SANITIZE),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKGS := libpq inih libcurl jansson openssl libacl
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Hardening (doc/security.md "Hardened build and unit"): stack protector and
# stack clash protection everywhere; a position-independent executable
# (PIE), the plugins position-independent shared objects (-fPIC below);
# full RELRO with immediate binding for both, so the GOT is read-only
# before main() runs.  _FORTIFY_SOURCE needs optimisation (at -O0 glibc
# warns, which -Werror turns into an error), and adds nothing under the
# sanitizers, which check the same calls more closely: it is on only for
# an optimised, unsanitized build whose CFLAGS do not set it themselves.
HARDEN_CFLAGS := -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LDFLAGS := -Wl,-z,relro -Wl,-z,now
FORTIFY = $(if $(SANFLAGS),,$(if $(filter -D_FORTIFY_SOURCE% -U_FORTIFY_SOURCE,$(CFLAGS)),,$(if \
	$(filter-out -O0,$(lastword $(filter -O%,$(CFLAGS)))),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
# -pthread: [sweeper] workers run a step's parts on threads (src/workers.c).
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(HARDEN_CFLAGS) $(FORTIFY) $(CFLAGS) \
	$(SANFLAGS) -MMD -MP \
	-Iinclude -Isrc -DSWEEPER_PLUGIN_DIR='"$(PLUGINDIR)"'
PLUGIN_CFLAGS = $(ALL_CFLAGS) -fPIC -fvisibility=hidden
# Test plugins written in C++, to prove that sweeper/plugin.h works there.
PLUGIN_CXXFLAGS = -std=c++20 -Wall -Wextra -Werror $(HARDEN_CFLAGS) $(FORTIFY) \
	$(CFLAGS) $(SANFLAGS) -MMD -MP -Iinclude -fPIC -fvisibility=hidden
ALL_LDFLAGS = -pthread $(HARDEN_LDFLAGS) $(LDFLAGS) $(SANFLAGS)
# The sweeper, the unit tests and the test tools: executables, PIE.
EXE_LDFLAGS = -pie $(ALL_LDFLAGS)

# Debian packages needed to build, test and run the demo (g++ builds the
# C++ test plugins).
DEB_PKGS := gcc g++ make pkg-config libpq-dev libinih-dev libcurl4-openssl-dev \
	libjansson-dev libssl-dev libcmocka-dev postgresql jq ca-certificates \
	openssl systemd procps strace libacl1-dev acl pgbouncer mandoc dpkg-dev \
	lintian
# What `make bench` needs on top: /usr/bin/time for the peak RSS, gnuplot
# for the chart.  Not installed by `make check`.
BENCH_DEB_PKGS := time gnuplot-nox
# What `make fuzz` needs on top: clang and its libFuzzer and sanitizer
# runtimes.  Not installed by `make check`, which replays the corpora with
# $(CC).
FUZZ_DEB_PKGS := clang libclang-rt-dev
# The packages `make deps` installs; `make bench` adds BENCH_DEB_PKGS,
# `make fuzz` FUZZ_DEB_PKGS.
DEPS_PKGS ?= $(DEB_PKGS)
SCALES ?= S M L
TRIALS ?= 200
# make bench: the scenarios to run (empty: all of them, see
# tests/bench/bench.sh) and the runs each median is taken over.
SCENARIOS ?=
RUNS ?= 3
# make bench: [sweeper] workers of its "workers" runs; 1 leaves them out
# (the key needs a build with parallel workers).
WORKERS ?= 1

CORE_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
BIN := $(BUILD)/mfa-sweeper

PLUGIN_SRCS := $(wildcard plugins/*.c)
PLUGINS := $(PLUGIN_SRCS:plugins/%.c=$(BUILD)/plugins/%.so)
EXAMPLE_SRCS := $(wildcard plugins/examples/*.c)
# The man pages: whatever doc/NAME.1, .5 and .7 exist.
MAN1 := $(wildcard doc/*.1)
MAN5 := $(wildcard doc/*.5)
MAN7 := $(wildcard doc/*.7)
EXAMPLES := $(EXAMPLE_SRCS:plugins/examples/%.c=$(BUILD)/plugins/examples/%.so)

# Deliberately broken plugins for the loader tests, plugins written in C++
# (.cc), and plugins built against the header as first released
# (abi1_*, against tests/plugins/abi1/sweeper/plugin.h).
TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c tests/plugins/*.cc)
TEST_PLUGINS := $(patsubst tests/plugins/%,$(BUILD)/tests/plugins/%.so,\
	$(basename $(TEST_PLUGIN_SRCS)))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

# Fuzz targets (tests/fuzz/fuzz_NAME.c), each with its corpus in
# tests/fuzz/corpus/NAME/.  `make check` links every target with the
# replay driver and $(CC) (replay_NAME); `make fuzz` links it with
# libFuzzer and clang (fuzz_NAME, in FUZZ_BUILD).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_HELPERS := tests/fuzz/util.c
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)
FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SANFLAGS) -MMD -MP \
	-Iinclude -Isrc -DSWEEPER_PLUGIN_DIR='"$(PLUGINDIR)"'
FUZZ_CORE_OBJS := $(CORE_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

DEPFILES := $(wildcard $(BUILD)/src/*.d $(BUILD)/plugins/*.d \
	$(BUILD)/plugins/examples/*.d $(BUILD)/tests/*/*.d \
	$(FUZZ_BUILD)/src/*.d $(FUZZ_BUILD)/*.d)

.PHONY: all check demo bench fuzz fuzz-progs chaos install uninstall deps clean \
	test-progs deb FORCE

all: $(BIN) $(PLUGINS) $(EXAMPLES)

# Objects depend on the flags they were built with, so that a changed
# PREFIX (the plugin_dir compiled into the binary) or CFLAGS rebuilds them
# instead of installing a binary that looks for plugins elsewhere.  The
# stamp is out of date only when the flags it holds differ, which make
# decides as it reads this file: so `make -q` and `make -n` tell the truth,
# and `make install` after `make` compiles nothing.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_TEXT := $(PLUGINDIR) | $(CFLAGS) | $(SANFLAGS) | $(CC) | $(CXX) | \
	$(HARDEN_CFLAGS) $(FORTIFY) | $(HARDEN_LDFLAGS)
ifneq ($(strip $(file <$(FLAGS_STAMP))),$(strip $(FLAGS_TEXT)))
$(FLAGS_STAMP): FORCE
endif
$(FLAGS_STAMP):
	@mkdir -p $(@D)
	@printf '%s\n' '$(FLAGS_TEXT)' >$@

$(BIN): $(MAIN_OBJ) $(CORE_OBJS)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl

$(BUILD)/src/%.o: src/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/plugins/%.so: plugins/%.c include/sweeper/plugin.h plugins/builtin.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c include/sweeper/plugin.h tests/plugins/stub.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

$(BUILD)/tests/plugins/%.so: tests/plugins/%.cc include/sweeper/plugin.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(PLUGIN_CXXFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

# The old header comes first on the include path: these plugins are what
# a team built before the header changed.
ABI1_INCLUDE := -Itests/plugins/abi1
$(BUILD)/tests/plugins/abi1_%.so: tests/plugins/abi1_%.c tests/plugins/abi1/sweeper/plugin.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ABI1_INCLUDE) $(PLUGIN_CFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

$(BUILD)/tests/plugins/abi1_%.so: tests/plugins/abi1_%.cc tests/plugins/abi1/sweeper/plugin.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(ABI1_INCLUDE) $(PLUGIN_CXXFLAGS) -shared $(ALL_LDFLAGS) -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(EXE_LDFLAGS) -o $@ $< $(CORE_OBJS) \
		$(PKG_LIBS) $(CMOCKA_LIBS) -ldl

$(BUILD)/tests/tools/%: tests/tools/%.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(EXE_LDFLAGS) -o $@ $< $(PKG_LIBS)

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
		$(FUZZ_HELPERS) tests/fuzz/fuzz.h $(CORE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		tests/fuzz/replay.c $(FUZZ_HELPERS) $(CORE_OBJS) $(PKG_LIBS) -ldl

test-progs: all $(TEST_PLUGINS) $(UNIT_BINS) $(TOOL_BINS) $(REPLAY_BINS)

# The fuzzing build: the core instrumented for libFuzzer's coverage and
# the sanitizers, in a tree of its own.
$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HELPERS) tests/fuzz/fuzz.h \
		$(FUZZ_CORE_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< \
		$(FUZZ_HELPERS) $(FUZZ_CORE_OBJS) $(PKG_LIBS) -ldl

fuzz-progs: $(FUZZ_BINS)

# Each target in FUZZ_TARGETS (default: all) for FUZZ_SECONDS (default
# 60), one after another; tests/fuzz/run.sh prints the executions and any
# finding of each.  New inputs go to $(FUZZ_BUILD)/corpus/, crashes to
# $(FUZZ_BUILD)/findings/; the committed corpora are only read.
fuzz:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(DEB_PKGS) $(FUZZ_DEB_PKGS)"
	@$(MAKE) --no-print-directory fuzz-progs
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
		bash tests/fuzz/run.sh $(FUZZ_TARGETS)

# The package check runs first, in its own make, so that pkg-config sees
# the libraries it may just have installed.
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory test-progs
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash tests/demo/demo.sh

# The benchmark (tests/bench/bench.sh): minutes at full scale, never part
# of `make check`.  Results go to $(BUILD)/bench/.
bench:
	@$(MAKE) --no-print-directory deps DEPS_PKGS="$(DEB_PKGS) $(BENCH_DEB_PKGS)"
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) SCALES="$(SCALES)" SCENARIOS="$(SCENARIOS)" RUNS="$(RUNS)" \
		WORKERS="$(WORKERS)" bash tests/bench/bench.sh

# The fault trials (tests/chaos/chaos.sh): TRIALS runs of the sweeper, each
# with one fault (kill -9, a server restart, a terminated backend, SIGTERM,
# a locked table, statement timeouts), directly and through PgBouncer;
# minutes at 200.  `make check` runs a few (tests/integration/test_chaos.sh).
chaos:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) TRIALS=$(TRIALS) bash tests/chaos/chaos.sh

# apt-get runs only when a package is missing, so this is cheap to repeat.
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The deployment files name the binary and /etc/mfa-sweeper as installed
# by default; this rewrites them to this installation's paths.
DEPLOY_SED = sed -e 's|/usr/local/bin/mfa-sweeper|$(BINDIR)/mfa-sweeper|g' \
	-e 's|/etc/mfa-sweeper/|$(SYSCONFDIR)/mfa-sweeper/|g'

# The pkg-config file for plugin authors, from config/mfa-sweeper-plugin.pc.in
# with this installation's paths, the ABI version of sweeper/plugin.h and
# the sweeper's version.
ABI_VERSION := $(shell sed -n 's/^\#define SWEEPER_ABI_VERSION \([0-9]*\)u$$/\1/p' include/sweeper/plugin.h)
SWEEPER_VERSION := $(shell sed -n 's/^\#define SWEEPER_VERSION "\(.*\)"$$/\1/p' src/cli.h)
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@EXAMPLESDIR@|$(EXAMPLESDIR)|g' \
	-e 's|@ABI_VERSION@|$(ABI_VERSION)|g' -e 's|@VERSION@|$(SWEEPER_VERSION)|g'

# install_man SECTION: the doc/*.SECTION pages into MANDIR/manSECTION, if
# doc/ has any.  Packages compress them (config/deb/build-deb.sh).
install_man = $(if $(MAN$(1)),install -d $(DESTDIR)$(MANDIR)/man$(1) && \
	install -m 0644 $(MAN$(1)) $(DESTDIR)$(MANDIR)/man$(1)/)

# Installs what `all` built, and builds nothing `make` built already: the
# objects depend on the flags, not on the install, so `make && sudo make
# install` compiles once.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) \
		$(DESTDIR)$(INCLUDEDIR)/sweeper $(DESTDIR)$(SYSCONFDIR)/mfa-sweeper \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(EXAMPLESDIR) $(DESTDIR)$(CONFEXAMPLEDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/mfa-sweeper
	install -m 0755 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	install -m 0644 include/sweeper/plugin.h $(DESTDIR)$(INCLUDEDIR)/sweeper/plugin.h
	$(PC_SED) config/mfa-sweeper-plugin.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/mfa-sweeper-plugin.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/mfa-sweeper-plugin.pc
	install -m 0644 $(EXAMPLE_SRCS) $(DESTDIR)$(EXAMPLESDIR)/
	sed 's|^plugin_dir = .*|plugin_dir = $(PLUGINDIR)|' config/mfa-sweeper.ini \
		>$(DESTDIR)$(CONFEXAMPLEDIR)/mfa-sweeper.ini.example
	chmod 0644 $(DESTDIR)$(CONFEXAMPLEDIR)/mfa-sweeper.ini.example
	$(DEPLOY_SED) config/mfa-sweeper.service >$(DESTDIR)$(SYSTEMDUNITDIR)/mfa-sweeper.service
	$(DEPLOY_SED) config/mfa-sweeper.timer >$(DESTDIR)$(SYSTEMDUNITDIR)/mfa-sweeper.timer
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/mfa-sweeper.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/mfa-sweeper.timer
	$(DEPLOY_SED) config/mfa-sweeper.cron \
		>$(DESTDIR)$(CONFEXAMPLEDIR)/mfa-sweeper.cron.example
	chmod 0644 $(DESTDIR)$(CONFEXAMPLEDIR)/mfa-sweeper.cron.example
	$(call install_man,1)
	$(call install_man,5)
	$(call install_man,7)

# Exactly the files install installed, by name: plugin_dir also holds the
# plugins a team installed there, and /etc/mfa-sweeper the operator's
# config.  The directories that are the sweeper's own go too, if that
# leaves them empty.
INSTALLED_FILES = $(BINDIR)/mfa-sweeper $(INCLUDEDIR)/sweeper/plugin.h \
	$(addprefix $(PLUGINDIR)/,$(notdir $(PLUGINS))) \
	$(PKGCONFIGDIR)/mfa-sweeper-plugin.pc \
	$(addprefix $(EXAMPLESDIR)/,$(notdir $(EXAMPLE_SRCS))) \
	$(CONFEXAMPLEDIR)/mfa-sweeper.ini.example \
	$(CONFEXAMPLEDIR)/mfa-sweeper.cron.example \
	$(SYSTEMDUNITDIR)/mfa-sweeper.service $(SYSTEMDUNITDIR)/mfa-sweeper.timer \
	$(foreach s,1 5 7,$(addprefix $(MANDIR)/man$(s)/,$(notdir $(MAN$(s)))))
INSTALLED_DIRS = $(PLUGINDIR) $(LIBDIR)/mfa-sweeper $(INCLUDEDIR)/sweeper \
	$(EXAMPLESDIR) $(CONFEXAMPLEDIR) $(DOCDIR) $(SYSCONFDIR)/mfa-sweeper

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	@for d in $(addprefix $(DESTDIR),$(INSTALLED_DIRS)); do \
		if [ -d "$$d" ]; then rmdir --ignore-fail-on-non-empty "$$d"; fi; \
	done

# Debian packages (doc/packaging.md): the sweeper is built in a tree of
# its own for /usr, installed into a staging DESTDIR exactly as `make
# install` installs it, and config/deb/build-deb.sh splits that into the
# two packages, with the control data of config/deb/.  The version is
# the sweeper's own (SWEEPER_VERSION in src/cli.h, which --version
# prints) plus DEB_REVISION.
DEB_BUILD ?= build-deb
DEB_REVISION ?= 1
DEB_VERSION = $(SWEEPER_VERSION)-$(DEB_REVISION)
DEB_MAINTAINER ?= mfa-sweeper maintainers <mfa-sweeper@example.org>
DEB_PREFIX_VARS = PREFIX=/usr SYSCONFDIR=/etc SYSTEMDUNITDIR=/lib/systemd/system \
	PKGCONFIGDIR=/usr/share/pkgconfig \
	EXAMPLESDIR=/usr/share/doc/mfa-sweeper-dev/examples \
	CONFEXAMPLEDIR=/usr/share/doc/mfa-sweeper/examples

deb:
	rm -rf $(DEB_BUILD)/stage
	@$(MAKE) --no-print-directory install BUILD=$(DEB_BUILD) $(DEB_PREFIX_VARS) \
		DESTDIR=$(abspath $(DEB_BUILD))/stage
	DEB_VERSION='$(DEB_VERSION)' DEB_MAINTAINER='$(DEB_MAINTAINER)' \
		MAN_PAGES='$(notdir $(MAN1) $(MAN5) $(MAN7))' \
		sh config/deb/build-deb.sh $(DEB_BUILD)

clean:
	rm -rf build build-san build-deb $(FUZZ_BUILD)

-include $(DEPFILES)

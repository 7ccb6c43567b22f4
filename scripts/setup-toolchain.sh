#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs everything scst-rs needs to build and test, idempotently and
# non-interactively. Safe to run on every `make`: when everything is already
# present it only checks and returns in well under a second.
#
# - bookworm packages (apt-get install; the system's apt sources are used as they are);
# - bindgen-cli through `cargo install --locked`;
# - linux-source-7.3 and the rust-src matching `rustc --version`, fetched with
#   `apt-get download` through a *private* sources list and private state dirs
#   under $SCST_CACHE/apt. The system's apt configuration is never modified and
#   nothing from trixie is ever installed.
#
# Prints the resulting paths as shell assignments on stdout when called with
# --print-env (used by the Makefile).
set -euo pipefail

SCST_CACHE=${SCST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scst-rs}
KERNEL_SERIES=${KERNEL_SERIES:-7.3}
LLVM_VER=${LLVM_VER:-19}
BINDGEN_MIN=0.71.1

log() { echo "setup-toolchain: $*" >&2; }
die() { echo "setup-toolchain: error: $*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || die "not root and no sudo: cannot install packages"
	SUDO=sudo
fi

# Packages from the machine's own Debian (bookworm) sources.
PKGS=(
	# kernel build
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod xz-utils
	python3 rsync zstd
	# clang-built kernel (KASAN with Rust needs it) and libclang >= 17 for bindgen
	clang-$LLVM_VER lld-$LLVM_VER llvm-$LLVM_VER libclang-$LLVM_VER-dev libclang1-$LLVM_VER
	# VM and in-guest tools
	busybox-static qemu-system-x86 e2fsprogs
	libiscsi-bin sg3-utils fio open-iscsi tgt
)

missing_pkgs() {
	local p st
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[ "${st:0:2}" = "ii" ] || echo "$p"
	done
}

install_pkgs() {
	local miss
	miss=$(missing_pkgs)
	[ -z "$miss" ] && return 0
	log "installing Debian packages: $(echo $miss | tr '\n' ' ')"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $miss >&2
	miss=$(missing_pkgs)
	[ -z "$miss" ] || die "packages still missing after install: $miss"
}

ver_ge() { # ver_ge A B: A >= B
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

install_bindgen() {
	local v
	export PATH="$HOME/.cargo/bin:$PATH"
	if command -v bindgen >/dev/null; then
		v=$(bindgen --version | awk '{print $2}')
		ver_ge "$v" "$BINDGEN_MIN" && return 0
		log "bindgen $v is older than $BINDGEN_MIN"
	fi
	log "installing bindgen-cli (cargo install --locked, ~2 min)"
	LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VER/lib cargo install --locked -q bindgen-cli >&2
	v=$(bindgen --version | awk '{print $2}')
	ver_ge "$v" "$BINDGEN_MIN" || die "bindgen $v installed but $BINDGEN_MIN is needed"
}

# Private apt for trixie-backports downloads only.
APT_DIR=$SCST_CACHE/apt
apt_opts() {
	echo -o "Dir::Etc::SourceList=$APT_DIR/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$APT_DIR/lists" \
		-o "Dir::Cache=$APT_DIR/cache" \
		-o Dir::State::status=/dev/null \
		-o Debug::NoLocking=1
}
# shellcheck disable=SC2046
apt_priv() { apt-get -q $(apt_opts) "$@"; }
# shellcheck disable=SC2046
apt_cache_priv() { apt-cache $(apt_opts) "$@"; }

apt_priv_init() {
	[ -n "${APT_READY:-}" ] && return 0
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
	local mirror
	mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		awk '{print $2}' | grep -v security | head -n1 || true)
	mirror=${mirror:-http://deb.debian.org/debian}
	cat >"$APT_DIR/sources.list" <<-EOS
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main
	deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main
	EOS
	log "refreshing the private trixie package list ($mirror)"
	apt_priv update >&2 || die "apt-get update on the private trixie list failed"
	APT_READY=1
}

# Prints the newest available version of package $1 whose version starts with $2.
pick_version() {
	apt_cache_priv madison "$1" 2>/dev/null | awk -F' *[|] *' '{print $2}' |
		grep -E "^$2" | sort -V | tail -n1 || true
}

fetch_deb() { # fetch_deb PKG VERSION -> path of the .deb
	local d="$SCST_CACHE/debs"
	mkdir -p "$d"
	local f
	f=$(ls "$d/${1}_"*.deb 2>/dev/null | grep -F "_$(echo "$2" | sed 's/:/%3a/')_" | head -n1 || true)
	if [ -z "$f" ]; then
		(cd "$d" && apt_priv download "$1=$2" >&2) || die "apt-get download $1=$2 failed"
		f=$(ls "$d/${1}_"*.deb | head -n1)
	fi
	echo "$f"
}

install_kernel_source() {
	local src=$SCST_CACHE/src
	if [ -f "$src/linux-$KERNEL_SERIES/.scst-extracted" ]; then return 0; fi
	apt_priv_init
	local v deb
	v=$(pick_version "linux-source-$KERNEL_SERIES" "")
	[ -n "$v" ] || die "linux-source-$KERNEL_SERIES not found in trixie-backports/trixie"
	log "fetching linux-source-$KERNEL_SERIES $v"
	deb=$(fetch_deb "linux-source-$KERNEL_SERIES" "$v")
	rm -rf "$src/linux-$KERNEL_SERIES" "$src/tmp-linux"
	mkdir -p "$src/tmp-linux"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$src/tmp-linux" --wildcards '*.tar.xz'
	tar -xJf "$src"/tmp-linux/usr/src/linux-source-"$KERNEL_SERIES".tar.xz -C "$src/tmp-linux"
	mv "$src/tmp-linux/linux-source-$KERNEL_SERIES" "$src/linux-$KERNEL_SERIES"
	rm -rf "$src/tmp-linux"
	echo "$v" >"$src/linux-$KERNEL_SERIES/.scst-extracted"
}

rustc_version() { rustc --version | awk '{print $2}'; }

install_rust_src() {
	local rv src v deb
	rv=$(rustc_version)
	src=$SCST_CACHE/src/rust-src-$rv
	if [ -f "$src/.scst-extracted" ]; then return 0; fi
	apt_priv_init
	v=$(pick_version rust-src "$rv\+")
	if [ -z "$v" ]; then
		local found
		found=$(apt_cache_priv madison rust-src 2>/dev/null | awk -F' *[|] *' '{print $2}' | tr '\n' ' ')
		die "no rust-src package matches rustc $rv (found: ${found:-none}). Install rustc $rv's exact rust-src, or a rustc whose version is listed."
	fi
	log "fetching rust-src $v for rustc $rv"
	deb=$(fetch_deb rust-src "$v")
	rm -rf "$src"
	mkdir -p "$src"
	dpkg-deb -x "$deb" "$src"
	[ -d "$src/usr/src/rustc-$rv/library/core" ] || die "rust-src $v does not contain library/ for rustc $rv"
	echo "$v" >"$src/.scst-extracted"
}

main() {
	install_pkgs
	install_bindgen
	install_kernel_source
	install_rust_src
	if [ "${1:-}" = "--print-env" ]; then
		local rv
		rv=$(rustc_version)
		echo "KSRC=$SCST_CACHE/src/linux-$KERNEL_SERIES"
		echo "RUST_LIB_SRC=$SCST_CACHE/src/rust-src-$rv/usr/src/rustc-$rv/library"
		echo "LIBCLANG_PATH=/usr/lib/llvm-$LLVM_VER/lib"
		echo "LLVM=/usr/lib/llvm-$LLVM_VER/bin/"
	fi
}

main "$@"

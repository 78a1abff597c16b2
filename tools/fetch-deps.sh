#!/usr/bin/env bash
# usage: tools/fetch-deps.sh [outdir=build/deps]
#
# Fetch the Debian source packages pinned in tools/deps.lock, verify them,
# and unpack each one, with Debian's patches applied, into <outdir>/<pkg>/.
#
# apt runs with a private configuration under build/apt/ (own sources.list,
# lists and cache) so the machine's apt state is never touched. The archive
# URI is copied at run time from the machine's own apt sources, so the build
# uses whatever mirror (or proxy set in apt.conf) the machine already uses.
#
# A package whose stamp matches its deps.lock lines is skipped, and files
# already downloaded that verify are reused, so a second run does no network
# access at all.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock=$root/tools/deps.lock
out=$(realpath -m "${1:-$root/build/deps}")
apt_dir=$root/build/apt
dl_dir=$apt_dir/download
apt_log=$apt_dir/apt.log
default_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "keel: deps: $*" >&2
	exit 1
}

# Serialise with any other fetch-deps/build-picolibc run in this tree
# (parallel make, two people building at once): they share build/apt and
# build/deps, and the second run must see the first one's stamps.
mkdir -p "$root/build"
exec 9>"$root/build/.deps.flock"
flock 9

# --- read the lock -----------------------------------------------------------

[[ -r $lock ]] || die "cannot read $lock"

declare -A version=() stanza=()
packages=() suites=() lock_files=() lock_pkgs=() lock_shas=()
while read -r pkg ver suite file sha extra; do
	[[ -z $pkg || $pkg == \#* ]] && continue
	[[ -n $file && $sha =~ ^[0-9a-f]{64}$ && -z $extra ]] ||
		die "malformed line in $lock: $pkg $ver $suite $file $sha $extra"
	if [[ -z ${version[$pkg]:-} ]]; then
		packages+=("$pkg")
		version[$pkg]=$ver
	elif [[ ${version[$pkg]} != "$ver" ]]; then
		die "$lock pins $pkg at both ${version[$pkg]} and $ver"
	fi
	[[ " ${suites[*]} " == *" $suite "* ]] || suites+=("$suite")
	stanza[$pkg]+="$pkg $ver $suite $file $sha"$'\n'
	lock_pkgs+=("$pkg")
	lock_files+=("$file")
	lock_shas+=("$sha")
done <"$lock"
((${#packages[@]})) || die "$lock lists no packages"

# The stamp holds the package's lock lines, so editing the lock re-fetches.
stamp_ok() {
	[[ -f $out/$1/.keel-fetched && $(<"$out/$1/.keel-fetched") == "${stanza[$1]%$'\n'}" ]]
}

pending=()
for pkg in "${packages[@]}"; do
	stamp_ok "$pkg" || pending+=("$pkg")
done
((${#pending[@]})) || exit 0

# --- verify what is already downloaded ---------------------------------------

# A file that is present but wrong is never trusted or silently replaced:
# it is deleted and the run fails, so tampering or a changed upstream is seen.
verify() { # file expected-sha
	local path=$dl_dir/$1 got
	if [[ ! -f $path ]]; then
		echo "keel: deps: sha256 mismatch for $path (expected $2, got missing)" >&2
		exit 1
	fi
	got=$(sha256sum <"$path" | cut -d' ' -f1)
	if [[ $got != "$2" ]]; then
		rm -f -- "$path"
		echo "keel: deps: sha256 mismatch for $path (expected $2, got $got)" >&2
		exit 1
	fi
}

mkdir -p "$dl_dir"
to_download=()
for pkg in "${pending[@]}"; do
	for i in "${!lock_files[@]}"; do
		[[ ${lock_pkgs[$i]} == "$pkg" ]] || continue
		if [[ -f $dl_dir/${lock_files[$i]} ]]; then
			verify "${lock_files[$i]}" "${lock_shas[$i]}"
		elif [[ " ${to_download[*]} " != *" $pkg "* ]]; then
			to_download+=("$pkg")
		fi
	done
done

# --- download through a private apt configuration ----------------------------

# Print "URI KEYRING" for the first Debian archive entry in the machine's apt
# sources whose suites include one of ours exactly (so the main archive, not
# -security or -updates). Handles one-line .list files and deb822 .sources.
find_archive() {
	local files=() f
	[[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f && $f != *.disabled* ]] && files+=("$f")
	done
	((${#files[@]})) || return 0
	awk -v want=" ${suites[*]} " '
		function wanted(list,   n, s, i) {
			n = split(list, s, /[ \t]+/)
			for (i = 1; i <= n; i++)
				if (s[i] != "" && index(want, " " s[i] " ")) return 1
			return 0
		}
		function emit(uri, key) {
			if (uri ~ /^cdrom:/) return
			print uri, key
			found = 1
			exit
		}
		# deb822 stanza state, flushed at blank lines and at end of file.
		function flush(   u) {
			if (types ~ /(^|[ \t])deb(-src)?([ \t]|$)/ && tolower(enabled) != "no" &&
			    wanted(suites)) {
				split(uris, u, /[ \t]+/)
				emit(u[1], signed)
			}
			types = uris = suites = signed = enabled = key = ""
		}
		FNR == 1 { flush(); deb822 = FILENAME ~ /\.sources$/ }

		# One-line format: deb [opts] uri suite component...
		!deb822 && /^[ \t]*deb(-src)?[ \t]/ {
			line = $0
			sub(/#.*/, "", line)
			sub(/^[ \t]+/, "", line)
			opts = ""
			if (match(line, /\[[^]]*\]/)) {
				opts = substr(line, RSTART + 1, RLENGTH - 2)
				line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
			}
			n = split(line, f, /[ \t]+/)
			key = ""
			m = split(opts, o, /[ \t]+/)
			for (i = 1; i <= m; i++)
				if (tolower(o[i]) ~ /^signed-by=/) key = substr(o[i], 11)
			if (n >= 3 && wanted(f[3])) emit(f[2], key)
			next
		}
		!deb822 { next }

		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		# Continuation line: only an inline Signed-By key block uses these.
		/^[ \t]/ { next }
		{
			key = tolower(substr($0, 1, index($0, ":") - 1))
			val = substr($0, index($0, ":") + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "signed-by") signed = val
			else if (key == "enabled") enabled = val
		}
		# exit after a match also runs END; do not emit twice.
		END { if (!found) flush() }
	' "${files[@]}"
}

if ((${#to_download[@]})); then
	read -r archive signed_by < <(find_archive) ||
		die "no apt source for suite(s) ${suites[*]} found in /etc/apt/sources.list or /etc/apt/sources.list.d/; cannot tell which Debian archive to fetch sources from"
	# Trust the machine's keyring for its archive, plus Debian's full archive
	# keyring: a release-specific keyring (e.g. bookworm's) cannot verify
	# the other suites we need. Signed-By may also hold fingerprints or an
	# inline key, which cannot be passed on; then Debian's keyring alone is
	# used.
	keyrings=()
	[[ $signed_by == /* && -r $signed_by ]] && keyrings+=("$signed_by")
	[[ -r $default_keyring && $signed_by != "$default_keyring" ]] && keyrings+=("$default_keyring")
	((${#keyrings[@]})) ||
		die "no archive keyring: neither the apt source's Signed-By ($signed_by) nor $default_keyring is readable (install debian-archive-keyring)"
	keyring=$(IFS=,; echo "${keyrings[*]}")

	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d"
	for suite in "${suites[@]}"; do
		echo "deb-src [signed-by=$keyring] $archive $suite main"
	done >"$apt_dir/sources.list"

	apt_opts=(
		-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
		# An empty parts dir hides the machine's sources.list.d entries.
		-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
		-o "Dir::State::Lists=$apt_dir/lists"
		-o "Dir::Cache=$apt_dir/cache"
		# The private dirs live in the build tree, which apt's unprivileged
		# _apt download user cannot write; integrity still comes from the
		# signed Release files and the sha256 pins checked below.
		-o "APT::Sandbox::User=root"
	)

	echo "keel: deps: updating source lists for ${suites[*]} from $archive"
	: >"$apt_log"
	# apt-get update can exit 0 after failing to fetch an index (it then
	# prints W: or E: lines), so those count as failure too.
	if ! apt-get "${apt_opts[@]}" update >>"$apt_log" 2>&1 ||
		grep -q '^[WE]: ' "$apt_log"; then
		tail -n 20 "$apt_log" >&2
		die "apt-get update failed for $archive (${suites[*]}); full log: $apt_log"
	fi

	for pkg in "${to_download[@]}"; do
		echo "keel: deps: downloading $pkg ${version[$pkg]}"
		# --tar-only alone would skip the debian tarball (apt calls it the
		# "diff"); with --diff-only too, apt fetches both tarballs and no .dsc.
		if ! (cd "$dl_dir" && apt-get "${apt_opts[@]}" source --download-only \
			--tar-only --diff-only "$pkg=${version[$pkg]}") >>"$apt_log" 2>&1; then
			tail -n 20 "$apt_log" >&2
			die "download of $pkg=${version[$pkg]} failed (is it still in the archive? update tools/deps.lock); full log: $apt_log"
		fi
	done
fi

# Every file of every pending package must now be present and match.
for i in "${!lock_files[@]}"; do
	[[ " ${pending[*]} " == *" ${lock_pkgs[$i]} "* ]] || continue
	verify "${lock_files[$i]}" "${lock_shas[$i]}"
done

# --- unpack and patch ---------------------------------------------------------

unpack() { # pkg
	local pkg=$1 tmp=$out/.$1.tmp i file name patch_opt applied=0
	rm -rf -- "$tmp"
	mkdir -p "$tmp"
	# Orig first: dpkg-source replaces any upstream debian/ with Debian's.
	for i in "${!lock_files[@]}"; do
		file=${lock_files[$i]}
		[[ ${lock_pkgs[$i]} == "$pkg" && $file == *.orig.tar.* ]] || continue
		tar -xf "$dl_dir/$file" -C "$tmp" --strip-components=1 ||
			die "cannot unpack $file"
	done
	for i in "${!lock_files[@]}"; do
		file=${lock_files[$i]}
		[[ ${lock_pkgs[$i]} == "$pkg" ]] || continue
		case $file in
		*.orig.tar.*) ;;
		*.debian.tar.*)
			rm -rf -- "$tmp/debian"
			tar -xf "$dl_dir/$file" -C "$tmp" || die "cannot unpack $file"
			;;
		*) die "$file: only .orig.tar.* and .debian.tar.* files are supported" ;;
		esac
	done

	if [[ -f $tmp/debian/patches/series ]]; then
		# quilt series: one patch per line, '#' comments, optional -pN.
		while read -r name patch_opt; do
			[[ -z $name || $name == \#* ]] && continue
			[[ -z $patch_opt || $patch_opt == -p1 || $patch_opt == \#* ]] ||
				die "$pkg: unsupported option '$patch_opt' for $name in debian/patches/series"
			# Fuzz 0, like dpkg-source: a patch that no longer fits exactly
			# is an error, not a guess.
			patch -p1 --batch --silent --fuzz=0 --no-backup-if-mismatch \
				-d "$tmp" -i "debian/patches/$name" ||
				die "$pkg: Debian patch $name does not apply"
			applied=$((applied + 1))
		done <"$tmp/debian/patches/series"
	fi

	printf '%s' "${stanza[$pkg]%$'\n'}" >"$tmp/.keel-fetched"
	rm -rf -- "${out:?}/$pkg"
	mv "$tmp" "$out/$pkg"
	echo "keel: deps: $pkg ${version[$pkg]} ready in $out/$pkg (Debian patches applied: $applied)"
}

mkdir -p "$out"
for pkg in "${pending[@]}"; do
	unpack "$pkg"
done

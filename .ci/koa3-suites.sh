#!/usr/bin/env bash
# The Koa-facing suites again on Koa 3. `npm test` runs the whole suite on the
# devDependency, Koa 2; here a temporary copy of the built tree gets koa 3
# installed over it and runs the suites that serve HTTP through Koa.
# Runnable locally after `npm run build`: .ci/koa3-suites.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d dist/spec ] || npm run build

# Every suite that serves HTTP through Koa; token-, key- and parser-level suites
# (config, keys, tokens, pyjwt, the fuzzing and vector suites) do not touch it.
SUITES=(
  seed decorators decorator-options requirement-missing errors locations outside-actions app-errors
  testing-helpers customisation claims-flow cache revocation sessions redis-instances demo security/attacks
)

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -a package.json package-lock.json .mocharc.json dist demo node_modules "$copy"/
cd "$copy"
npm install --no-save --no-audit --no-fund koa@^3 >/dev/null
version=$(node -p 'require("koa/package.json").version')
[[ $version == 3.* ]] || { echo "koa $version installed, expected 3.x" >&2; exit 1; }
echo "Koa-facing suites on koa $version"
files=()
for suite in "${SUITES[@]}"; do files+=("dist/spec/$suite.spec.js"); done
npx mocha --no-config --require reflect-metadata --timeout 10000 --exit "${files[@]}"

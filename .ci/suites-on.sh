#!/usr/bin/env bash
# The suites that serve HTTP again on another major version of one driver.
# `npm test` runs everything on the devDependencies (koa 2, Express 4); here a
# temporary copy of the built tree gets the given package installed over it, and
# the suites run on that driver only (SPEC_DRIVERS; the few suites that pair a Koa
# and an Express instance run both).
# Usage, after `npm run build`: .ci/suites-on.sh koa 3   |   .ci/suites-on.sh express 5
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d dist/spec ] || npm run build
driver=${1:?driver: koa or express}
major=${2:?major version}

# Every suite that serves HTTP through a driver; token-, key- and parser-level suites
# (config, keys, tokens, pyjwt, the vector suite) do not touch one.
SUITES=(
  seed decorators decorator-options requirement-missing errors locations outside-actions app-errors client-errors
  middleware testing-helpers customisation claims-flow cache revocation sessions redis-instances demo
  security/attacks security/fuzz
)

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -a package.json package-lock.json .mocharc.json dist demo node_modules "$copy"/
cd "$copy"
npm install --no-save --no-audit --no-fund "$driver@^$major" >/dev/null
version=$(node -p "require('$driver/package.json').version")
[[ $version == "$major".* ]] || { echo "$driver $version installed, expected $major.x" >&2; exit 1; }
echo "HTTP suites on $driver $version"
files=()
for suite in "${SUITES[@]}"; do files+=("dist/spec/$suite.spec.js"); done
SPEC_DRIVERS=$driver npx mocha --no-config --require reflect-metadata --timeout 10000 --exit "${files[@]}"

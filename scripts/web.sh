#!/bin/sh
# mscada's browser app (web/): its npm packages, its build and its checks.
#
#   sh scripts/web.sh build OUT    # the served app into OUT (index.html,
#                                  # app.css, js/, vendor/ with uPlot)
#   sh scripts/web.sh check        # tsc --checkJs (strict) over web/src
#                                  # (browser) and web/test (node)
#   sh scripts/web.sh lint         # eslint (web/eslint.config.js)
#   sh scripts/web.sh deps         # only the `npm ci`
#   sh scripts/web.sh test         # node --test web/test
#
# Each runs `npm ci` first when web/node_modules is missing or older than
# web/package-lock.json (quietly; the registry must be reachable then).
# No bundler: the app is plain ES modules; uPlot's minified build is
# served as a module (vendor/uplot.js).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
web=$top/web

need() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "web.sh: '$1' is not installed: run 'sh scripts/deps.sh' (Debian's nodejs and npm)" >&2
    exit 1
}

npm_ci() {
    need node
    need npm
    stamp=$web/node_modules/.package-lock.json
    if [ -f "$stamp" ] && [ ! "$web/package-lock.json" -nt "$stamp" ]; then
        return
    fi
    log=$(mktemp)
    if ! (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "web.sh: 'npm ci' in web/ failed (above): the npm registry must be" \
             "reachable once to install web/package-lock.json's packages" >&2
        exit 1
    fi
    rm -f "$log"
}

case ${1:-} in
deps)
    npm_ci
    ;;
build)
    out=${2:?usage: web.sh build OUT}
    npm_ci
    mkdir -p "$out/js" "$out/vendor"
    cp "$web/index.html" "$web/app.css" "$out/"
    rm -f "$out"/js/*.js
    cp "$web"/src/*.js "$out/js/"
    u=$web/node_modules/uplot
    # uPlot's minified IIFE defines `var uPlot`: exported, it is a module
    { cat "$u/dist/uPlot.iife.min.js"; printf '\nexport default uPlot;\n'; } \
        > "$out/vendor/uplot.js.tmp"
    mv "$out/vendor/uplot.js.tmp" "$out/vendor/uplot.js"
    cp "$u/dist/uPlot.min.css" "$out/vendor/"
    cp "$u/LICENSE" "$out/vendor/uPlot.LICENSE"
    ;;
check)
    npm_ci
    cd "$web"
    node node_modules/typescript/bin/tsc -p .
    node node_modules/typescript/bin/tsc -p test
    ;;
lint)
    npm_ci
    cd "$web" && node node_modules/eslint/bin/eslint.js --max-warnings 0 .
    ;;
test)
    need node
    cd "$web" && node --test test/
    ;;
*)
    echo "usage: sh scripts/web.sh build OUT | deps | check | lint | test" >&2
    exit 2
    ;;
esac

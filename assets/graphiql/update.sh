#!/usr/bin/env bash
# Refreshes the vendored GraphiQL files from the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
GRAPHIQL=4.0.3
REACT=18.3.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for pkg in graphiql react react-dom; do
  mkdir -p "$work/$pkg"
  tar xzf "$work"/"$pkg"-[0-9]*.tgz -C "$work/$pkg"
done
cp "$work/graphiql/package/graphiql.min.js" "$work/graphiql/package/graphiql.min.css" .
cp "$work/graphiql/package/LICENSE" LICENSE-graphiql
cp "$work/react/package/umd/react.production.min.js" .
cp "$work/react-dom/package/umd/react-dom.production.min.js" .
cp "$work/react/package/LICENSE" LICENSE-react

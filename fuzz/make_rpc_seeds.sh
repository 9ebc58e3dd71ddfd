#!/usr/bin/env bash
# Regenerates fuzz/corpus/coordinator_rpc/ from the readable text-format
# sessions in fuzz/seeds_src/coordinator_rpc/*.txtpb (protoc --encode).
set -euo pipefail
cd "$(dirname "$0")/.."
for src in fuzz/seeds_src/coordinator_rpc/*.txtpb; do
  out=fuzz/corpus/coordinator_rpc/$(basename "$src" .txtpb)
  protoc --proto_path=. --encode=gridrun.fuzz.FuzzSession fuzz/coordinator_fuzz.proto <"$src" >"$out"
done
ls -l fuzz/corpus/coordinator_rpc

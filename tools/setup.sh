#!/usr/bin/env bash
# Installs every Debian package ringdb needs to build, test and benchmark.
# Idempotent: packages already installed are skipped, and `apt-get update` runs at most once,
# only when something is missing. Safe to call from every make target.
set -euo pipefail

packages=(
    # toolchain
    build-essential g++ cmake make pkg-config
    clang-14 libclang-rt-14-dev
    # core libraries
    liburing-dev libasio-dev libxxhash-dev liblz4-dev libzstd-dev libssl-dev
    # tests and benchmarks
    catch2 libbenchmark-dev fio
    # peers for the comparison benchmarks (kv_bench; vector_bench: hnswlib, FAISS and the
    # BLAS/LAPACK FAISS links against)
    liblmdb-dev librocksdb-dev libsqlite3-dev libleveldb-dev
    libhnswlib-dev libfaiss-dev liblapack-dev libblas-dev
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Runs every test: unit, cluster (several ActorSystems on loopback over PostgreSQL) and shared-data
# tests through Maven, then the process-level end-to-end script against the packaged jar.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp verify
bash scripts/e2e.sh

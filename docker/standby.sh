#!/bin/bash
# The read standby: on first start, a base backup of the primary with -R (standby.signal
# and primary_conninfo written), on a replication slot so the primary keeps the WAL the
# standby has not had yet; then PostgreSQL as a hot standby.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -p 5432 -U replicator; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h postgres -p 5432 -U replicator \
    -D "$PGDATA" -R -X stream -C -S standby1 --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
exec postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on

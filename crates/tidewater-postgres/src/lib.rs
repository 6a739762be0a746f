//! PostgreSQL logical replication source: replication connection, slots, publications, snapshots, LSN acknowledgement.

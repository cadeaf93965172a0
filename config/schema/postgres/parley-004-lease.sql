-- The split-brain resolver's lease (lease-majority, dev.parley.http.lease.JdbcLease): one row per
-- lease name, held by the owner (a node's host:port) until expires_at. Expiry is always computed
-- and compared with the database clock (now()), never a node's, so nodes with skewed clocks agree.
CREATE TABLE IF NOT EXISTS cluster_lease (
  lease_name VARCHAR(255) PRIMARY KEY,
  owner VARCHAR(255) NOT NULL,
  expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);

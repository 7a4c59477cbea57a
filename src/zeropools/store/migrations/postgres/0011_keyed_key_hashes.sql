-- API key secrets are stored as HMAC-SHA256 under a server-side pepper (ZEROPOOLS_KEY_PEPPER),
-- so a stolen table alone cannot be checked against guessed secrets. Rows written before hold
-- sha256(secret): they keep working and are rewritten to the keyed hash on their first
-- successful use (the secret is needed for that, so no migration can do it).
ALTER TABLE api_keys ADD COLUMN hash_scheme TEXT NOT NULL DEFAULT 'sha256'
  CHECK (hash_scheme IN ('sha256', 'hmac-sha256'));
-- 'config': registered at start-up from ZEROPOOLS_OPERATOR_KEY (or the demo's key file); a new
-- value revokes the key an earlier value registered. NULL: issued by the API or 'init'.
ALTER TABLE api_keys ADD COLUMN origin TEXT CHECK (origin IS NULL OR origin = 'config');

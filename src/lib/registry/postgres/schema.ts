/**
 * The registry's PostgreSQL schema, as numbered migrations applied in order by
 * `iotctl registry migrate`. A migration is never edited once released: later issues append one
 * (rollout state, production-line records). Everything lives in the `iotctl` schema, so the
 * registry can share a database with the systems it serves.
 */
export interface Migration {
  version: number
  description: string
  sql: string
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'devices and labels, certificate catalogue, flash records',
    sql: `
CREATE SCHEMA IF NOT EXISTS iotctl;
CREATE TABLE iotctl.schema_migrations (
  version integer PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE iotctl.devices (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  type text NOT NULL,
  chip text,
  mac text,
  role text,
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  cert_serial text,
  -- device fields this schema has no column for yet: they round-trip untouched
  extra jsonb,
  -- the MAC a device answers to: its mac, or its id when the id is a MAC
  mac_key text GENERATED ALWAYS AS (coalesce(mac, CASE WHEN id ~ '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' THEN id END)) STORED
);
-- ids are unique case-insensitively (they become folder names and MQTT client ids)
CREATE UNIQUE INDEX devices_id_key ON iotctl.devices (lower(id));
CREATE UNIQUE INDEX devices_mac_key ON iotctl.devices (mac_key);
CREATE INDEX devices_labels ON iotctl.devices USING gin (labels);
-- every certificate the fleet CA issued that the registry saw; it outlives removed devices
CREATE TABLE iotctl.certificates (
  serial text PRIMARY KEY,
  device_id text NOT NULL,
  algorithm text NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  fingerprint256 text NOT NULL,
  revoked boolean NOT NULL DEFAULT false,
  revoked_at timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_device ON iotctl.certificates (device_id);
CREATE INDEX certificates_expiry ON iotctl.certificates (not_after) WHERE NOT revoked;
CREATE TABLE iotctl.flash_records (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id text NOT NULL REFERENCES iotctl.devices (id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  result text NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX flash_records_device ON iotctl.flash_records (device_id, seq DESC);
`,
  },
  {
    version: 2,
    description: 'OTA rollouts',
    sql: `
CREATE TABLE iotctl.rollouts (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  type text NOT NULL,
  version text NOT NULL,
  state text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- the whole record as src/lib/ota writes it; json, not jsonb, so its key order (and the
  -- registry file a migration back writes) stays byte for byte
  record json NOT NULL
);
CREATE INDEX rollouts_state ON iotctl.rollouts (state);
`,
  },
]

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version

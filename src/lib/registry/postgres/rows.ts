import {canonicalDevice, canonicalFlash, deviceExtensions} from '../canonical.js'
import type {DeviceRecord, FlashRecord, RolloutEntry} from '../types.js'

/** One row of the device read query. */
export interface DeviceRow {
  id: string
  type: string
  chip: string | null
  mac: string | null
  role: string | null
  labels: Record<string, string>
  created_at: Date
  updated_at: Date
  extra: Record<string, unknown> | null
  serial: string | null
  algorithm: string | null
  not_before: Date | null
  not_after: Date | null
  fingerprint256: string | null
  revoked: boolean | null
  flashes: FlashRecord[] | null
}

/** Devices with their current certificate and latest 20 flash records, in registration order. */
export const DEVICE_QUERY = `
SELECT d.id, d.type, d.chip, d.mac, d.role, d.labels, d.created_at, d.updated_at, d.extra,
       c.serial, c.algorithm, c.not_before, c.not_after, c.fingerprint256, c.revoked, f.flashes
FROM iotctl.devices d
LEFT JOIN iotctl.certificates c ON c.serial = d.cert_serial
LEFT JOIN LATERAL (
  SELECT json_agg(r.record ORDER BY r.seq DESC) AS flashes
  FROM (SELECT record, seq FROM iotctl.flash_records WHERE device_id = d.id ORDER BY seq DESC LIMIT 20) r
) f ON true`

export function recordFromRow(row: DeviceRow): DeviceRecord {
  const device: Record<string, unknown> = {
    id: row.id,
    type: row.type,
    chip: row.chip ?? undefined,
    mac: row.mac ?? undefined,
    role: row.role ?? undefined,
    labels: row.labels ?? {},
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...row.extra,
  }
  if (row.serial) {
    device.cert = {
      serial: row.serial,
      algorithm: row.algorithm,
      notBefore: row.not_before!.toISOString(),
      notAfter: row.not_after!.toISOString(),
      fingerprint256: row.fingerprint256,
      ...(row.revoked ? {revoked: true} : {}),
    }
  }
  if (row.flashes && row.flashes.length > 0) device.flashes = row.flashes
  return canonicalDevice(device as unknown as DeviceRecord)
}

/** The columns of a device as the JSON parameter of jsonb_to_recordset. */
export function deviceColumns(device: DeviceRecord) {
  return {
    id: device.id,
    type: device.type,
    chip: device.chip ?? null,
    mac: device.mac ?? null,
    role: device.role ?? null,
    labels: device.labels ?? {},
    created_at: device.createdAt,
    updated_at: device.updatedAt,
    cert_serial: device.cert?.serial ?? null,
    extra: deviceExtensions(device) ?? null,
  }
}

export function certificateColumns(device: DeviceRecord) {
  const cert = device.cert!
  return {
    serial: cert.serial,
    device_id: device.id,
    algorithm: cert.algorithm,
    not_before: cert.notBefore,
    not_after: cert.notAfter,
    fingerprint256: cert.fingerprint256,
    revoked: Boolean(cert.revoked),
  }
}

/** Flash records to insert, oldest first (a record's list is most recent first). */
export function flashColumns(device: DeviceRecord, records: FlashRecord[]) {
  return [...records].reverse().map((record) => ({device_id: device.id, at: record.at, result: record.result, record: canonicalFlash(record)}))
}

export const INSERT_DEVICES = `
INSERT INTO iotctl.devices (id, type, chip, mac, role, labels, created_at, updated_at, cert_serial, extra)
SELECT x.id, x.type, x.chip, x.mac, x.role, x.labels, x.created_at, x.updated_at, x.cert_serial, x.extra
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n), jsonb_to_record(e.v) AS x(id text, type text, chip text, mac text,
  role text, labels jsonb, created_at timestamptz, updated_at timestamptz, cert_serial text, extra jsonb)
ORDER BY e.n`

export const UPDATE_DEVICES = `
UPDATE iotctl.devices d SET type = x.type, chip = x.chip, mac = x.mac, role = x.role, labels = x.labels,
  updated_at = x.updated_at, cert_serial = x.cert_serial, extra = x.extra
FROM jsonb_to_recordset($1::jsonb) AS x(id text, type text, chip text, mac text, role text, labels jsonb,
  created_at timestamptz, updated_at timestamptz, cert_serial text, extra jsonb)
WHERE d.id = x.id`

/** A certificate seen again keeps its first record; revocation is one-way and stamped once. */
export const UPSERT_CERTIFICATES = `
INSERT INTO iotctl.certificates (serial, device_id, algorithm, not_before, not_after, fingerprint256, revoked, revoked_at)
SELECT x.serial, x.device_id, x.algorithm, x.not_before, x.not_after, x.fingerprint256, x.revoked, CASE WHEN x.revoked THEN now() END
FROM jsonb_to_recordset($1::jsonb) AS x(serial text, device_id text, algorithm text, not_before timestamptz, not_after timestamptz,
  fingerprint256 text, revoked boolean)
ON CONFLICT (serial) DO UPDATE SET revoked = iotctl.certificates.revoked OR EXCLUDED.revoked,
  revoked_at = coalesce(iotctl.certificates.revoked_at, EXCLUDED.revoked_at)`

export const INSERT_FLASHES = `
INSERT INTO iotctl.flash_records (device_id, at, result, record)
SELECT x.device_id, x.at, x.result, x.record
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n), jsonb_to_record(e.v) AS x(device_id text, at timestamptz, result text, record jsonb)
ORDER BY e.n`

/** Rollouts to insert or replace, as the JSON parameter of UPSERT_ROLLOUTS (the record as text keeps its key order). */
export function rolloutColumns(rollout: RolloutEntry) {
  return {id: rollout.id, type: rollout.type, version: rollout.version, state: rollout.state, created_at: rollout.createdAt, updated_at: rollout.updatedAt, record: JSON.stringify(rollout)}
}

/** A rollout seen again is replaced in place: it keeps its seq (creation order). */
export const UPSERT_ROLLOUTS = `
INSERT INTO iotctl.rollouts (id, type, version, state, created_at, updated_at, record)
SELECT x.id, x.type, x.version, x.state, x.created_at, x.updated_at, x.record::json
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, n), jsonb_to_record(e.v) AS x(id text, type text, version text, state text,
  created_at timestamptz, updated_at timestamptz, record text)
ORDER BY e.n
ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, version = EXCLUDED.version, state = EXCLUDED.state,
  updated_at = EXCLUDED.updated_at, record = EXCLUDED.record`

export const ROLLOUT_QUERY = 'SELECT record FROM iotctl.rollouts ORDER BY seq'

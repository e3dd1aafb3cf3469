import type {TravelerRecord} from './record.js'

const COLUMNS: [string, (r: TravelerRecord) => unknown][] = [
  ['id', (r) => r.id],
  ['station', (r) => r.station],
  ['seq', (r) => r.seq],
  ['result', (r) => r.result],
  ['reason', (r) => r.reason],
  ['message', (r) => r.message],
  ['mac', (r) => r.board?.mac],
  ['chip', (r) => r.board?.description],
  ['revision', (r) => r.board?.revision],
  ['flash_id', (r) => r.board?.flashId],
  ['flash_size', (r) => r.board?.flashSize],
  ['device', (r) => r.device?.id],
  ['type', (r) => r.device?.type],
  ['app_sha256', (r) => r.app?.sha256],
  ['app_version', (r) => r.app?.version],
  ['nvs_sha256', (r) => r.nvsSha256],
  ['parts', (r) => r.parts.map((p) => `${p.name}@0x${p.offset.toString(16)}:${p.sha256}${p.written ? '' : '(not written)'}`).join(' ')],
  ['cert_serial', (r) => r.certificate?.serial],
  ['boot', (r) => r.boot.outcome],
  ['boot_match', (r) => r.boot.match],
  ['port', (r) => r.port],
  ['operator', (r) => r.operator],
  ['started_at', (r) => r.startedAt],
  ['ended_at', (r) => r.endedAt],
  ['iotctl', (r) => r.iotctlVersion],
  ['recipe_hash', (r) => r.recipe.hash],
  ['rework_of', (r) => r.reworkOf],
  ['prev', (r) => r.prev],
  ['hash', (r) => r.hash],
]

/** RFC 4180: quoted when a field holds a comma, quote or line break; CRLF line ends. */
function field(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function recordsToCsv(records: TravelerRecord[]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')]
  for (const record of records) lines.push(COLUMNS.map(([, get]) => field(get(record))).join(','))
  return lines.join('\r\n') + '\r\n'
}

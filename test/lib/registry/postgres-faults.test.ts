import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, IotctlError} from '../../../src/lib/console/errors.js'
import type {DeviceRecord} from '../../../src/lib/registry/index.js'
import {PostgresRegistryStore} from '../../../src/lib/registry/postgres/store.js'
import {PostgresRecordStore} from '../../../src/lib/station/postgres-store.js'
import {createStationKey} from '../../../src/lib/station/station-key.js'
import {input} from '../station/record-suite.js'
import {startPostgres, type PostgresServer} from '../../support/postgres.js'

let server: PostgresServer
let store: PostgresRegistryStore

beforeAll(async () => {
  server = await startPostgres()
  server.createDatabase('faults')
  store = await PostgresRegistryStore.open(server.url('faults'), {password: server.password})
  await store.migrateSchema()
  await store.addDevices([{id: 'dev-1', type: 'temp'}])
})

afterAll(async () => {
  await store?.close()
  server?.destroy()
})

/** A psql session that holds `lockSql` until released; resolves once the lock is really held. */
async function holdLock(lockSql: string): Promise<{release: () => Promise<void>}> {
  const child = spawn('psql', ['-h', '127.0.0.1', '-p', String(server.port), '-U', server.user, '-d', 'faults', '-v', 'ON_ERROR_STOP=1', '-qAt'], {
    env: {...process.env, ...server.env},
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()))
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      if (out.includes('locked')) resolve()
    })
    child.on('close', () => reject(new Error(`psql ended before taking the lock: ${out}`)))
    child.stdin.write(`BEGIN; ${lockSql}; SELECT 'locked';\n`)
  })
  return {
    release: async () => {
      child.stdin.end('COMMIT;\n')
      await done
    },
  }
}

/** Wait until iotctl's connection waits on a lock, then kill that backend (the connection breaks mid-statement). */
async function terminateWaitingIotctl(application = 'iotctl'): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 50_000; ) {
    const killed = server.psql('faults', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${application}' AND wait_event_type = 'Lock'`).trim()
    if (killed.includes('t')) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('iotctl never waited on the lock')
}

describe('PostgreSQL store: a connection lost mid-command', () => {
  it('a read is retried once on a fresh connection', async () => {
    const lock = await holdLock('LOCK TABLE iotctl.devices IN ACCESS EXCLUSIVE MODE')
    const reading = store.readDevices()
    await terminateWaitingIotctl()
    // the retry waits on the same lock; releasing it lets the retry finish
    await new Promise((r) => setTimeout(r, 200))
    await lock.release()
    expect((await reading).map((d) => d.id)).toEqual(['dev-1'])
  }, 120_000)

  it('a read of traveler records is retried once too (the station store shares the registry database)', async () => {
    const records = await PostgresRecordStore.open(server.url('faults'), {password: server.password})
    try {
      const key = await createStationKey(join(mkdtempSync(join(tmpdir(), 'iotctl-faults-')), 'line-1.pem'))
      await records.append(input('line-1', '24:0a:c4:00:00:01'), key)
      const lock = await holdLock('LOCK TABLE iotctl.travelers IN ACCESS EXCLUSIVE MODE')
      const reading = records.list()
      await terminateWaitingIotctl('iotctl station')
      await new Promise((r) => setTimeout(r, 200))
      await lock.release()
      expect((await reading).map((r) => r.id)).toEqual(['line-1#1'])
    } finally {
      await records.close()
    }
  }, 120_000)

  it('a write is never retried silently: exit 5, not committed, the device unchanged', async () => {
    const lock = await holdLock("SELECT id FROM iotctl.devices WHERE id = 'dev-1' FOR UPDATE")
    const writing = store.updateDevices(new Map([['dev-1', (d: DeviceRecord) => ({...d, labels: {lost: 'yes'}})]]))
    const outcome = writing.then(
      () => undefined,
      (error: unknown) => error,
    )
    await terminateWaitingIotctl()
    const error = (await outcome) as IotctlError
    await lock.release()
    expect(error).toBeInstanceOf(IotctlError)
    expect([error.code, error.exit]).toEqual(['REGISTRY_CONNECTION_LOST', ExitCode.NETWORK])
    expect(error.message).toContain(`127.0.0.1:${server.port}`)
    expect(error.message).toContain('not committed')
    expect((await store.readDevices())[0]!.labels).toEqual({})
  }, 120_000)
})

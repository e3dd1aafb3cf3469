import {afterAll, beforeAll} from 'vitest'
import type {RegistryStore} from '../../../src/lib/registry/index.js'
import {PostgresRegistryStore} from '../../../src/lib/registry/postgres/store.js'
import {startPostgres, type PostgresServer} from '../../support/postgres.js'
import {registryStoreSuite} from './store-suite.js'

let server: PostgresServer
const stores: RegistryStore[] = []
let databases = 0

beforeAll(async () => {
  server = await startPostgres()
})

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()))
  server?.destroy()
})

registryStoreSuite('PostgreSQL', async () => {
  const name = `suite_${++databases}`
  server.createDatabase(name)
  const store = await PostgresRegistryStore.open(server.url(name), {password: server.password})
  await store.migrateSchema()
  stores.push(store)
  return store
})

import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {FileRegistryStore} from '../../../src/lib/registry/file-store.js'
import {registryStoreSuite} from './store-suite.js'

registryStoreSuite('JSON file', async () => new FileRegistryStore(join(mkdtempSync(join(tmpdir(), 'iotctl-store-')), 'registry', 'devices.json')))

import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {readStdin} from '../lib/console/stdin.js'
import {initWorkspace} from '../lib/workspace/workspace.js'

export interface InitResult {
  root: string
  name: string
  paths: Record<string, string>
  registry: {kind: 'file' | 'postgres'; location: string; schema?: number; applied?: number[]}
}

export default class Init extends BaseCommand<typeof Init> {
  static summary = 'Create a fleet workspace (registry, PKI, builds, recordings).'
  static description =
    'Writes an iotctl.json manifest, the workspace folders and a .gitignore that keeps private keys, secrets and spools out of git. ' +
    'Commands run inside it (or below it) use it; elsewhere they use IOTCTL_WORKSPACE or a per-user default workspace. ' +
    'With --registry postgres://USER@HOST:PORT/DATABASE the device registry lives in PostgreSQL (shared by a team): its tables ' +
    'are created or upgraded first, and only then is the workspace written. The password never goes into iotctl.json: give it in ' +
    'PGPASSWORD, ~/.pgpass or with --password-stdin.'

  static examples = [
    '<%= config.bin %> <%= command.id %> ./greenhouse',
    '<%= config.bin %> <%= command.id %> --name greenhouse --json',
    'PGPASSWORD=… <%= config.bin %> <%= command.id %> ./fleet --registry "postgres://iotctl@db.example.com/fleet?sslmode=verify-full&sslrootcert=ca.pem"',
  ]

  static args = {
    dir: Args.string({description: 'directory to create the workspace in', default: '.', ignoreStdin: true}),
  }

  static flags = {
    name: Flags.string({summary: 'workspace name (default: the directory name)'}),
    force: Flags.boolean({summary: 'rewrite the manifest of an existing workspace (its data is kept)'}),
    registry: Flags.string({summary: 'where the device registry lives: file (default) or postgres://USER@HOST:PORT/DATABASE'}),
    'password-stdin': Flags.boolean({summary: 'read the PostgreSQL password from standard input (it is not stored)', dependsOn: ['registry']}),
  }

  async run(): Promise<InitResult> {
    let registry: InitResult['registry'] = {kind: 'file', location: 'registry/devices.json'}
    const settings: Record<string, string> = {}
    if (this.flags.registry !== undefined) {
      const {shareableRegistryUrl, migratePostgres} = await import('../lib/registry/transfer.js')
      const location = shareableRegistryUrl(this.flags.registry)
      if (location.kind === 'postgres') {
        const password = this.flags['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : undefined
        // the database first: a workspace pointing at a registry that cannot be reached is half made
        const schema = await migratePostgres(location.url, {password})
        if (schema.applied.length > 0) this.info(`${this.palette.success('✔')} Registry schema ${schema.from} → ${schema.to} in ${schema.location}`)
        else this.info(`Joined the registry in ${schema.location} (schema ${schema.to})`)
        registry = {kind: 'postgres', location: schema.location, schema: schema.to, applied: schema.applied.map((m) => m.version)}
        settings['registry.url'] = location.url
      }
    }
    const ws = await initWorkspace(this.args.dir, {name: this.flags.name, force: this.flags.force, settings})
    this.info(`${this.palette.success('✔')} Created workspace "${ws.manifest.name}" in ${ws.root}`)
    this.info(`  Next: iotctl devices add <id> --type temp, or iotctl simulate --count 10`)
    return {root: ws.root, name: ws.manifest.name, paths: {...ws.paths}, registry}
  }
}
